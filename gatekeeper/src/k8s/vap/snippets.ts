// The CEL that Gatekeeper v3.23 puts into every generated ValidatingAdmissionPolicy (pkg/drivers/k8scel/transform/
// cel_snippets.go), kept character for character so the API server matches exactly as Gatekeeper's policies do. The
// constraint's match (kinds, namespaces, excludedNamespaces, name) is read from `params`, the constraint itself.
import type { CelNamedExpression } from '../../cel/source.js';

// A glob becomes a regex by replacing "*" with ".*": valid because Gatekeeper's CRD pattern allows no other regex
// metacharacter in these fields.
const nsMatches = (field: string) => `(string(${field}).matches("^" + string(nsMatcher).replace("*", ".*") + "$"))`;

const guarded = (field: string, body: string) => `
	!has(params.spec) ? true: (
		!has(params.spec.match) ? true: (
			!has(params.spec.match.${field}) ? true : (
${body}
			)
		)
	)
	`;

const namespaceGlob = (negate: string, field: string) => `				[object, oldObject].exists(obj,
					obj != null && (
						// cluster-scoped objects always match
						!has(obj.metadata.namespace) || obj.metadata.namespace == "" ? true : (
							${negate}params.spec.match.${field}.exists(nsMatcher,
								${nsMatches('obj.metadata.namespace')}
							)
						)
					)
				)`;

const MATCH_KINDS = guarded(
  'kinds',
  `				params.spec.match.kinds.exists(groupskinds,
					(!has(groupskinds.kinds) || size(groupskinds.kinds) == 0 || "*" in groupskinds.kinds || request.kind.kind in groupskinds.kinds) &&
					(!has(groupskinds.apiGroups) || size(groupskinds.apiGroups) == 0 || "*" in groupskinds.apiGroups || request.kind.group in groupskinds.apiGroups)
				)`,
);

const MATCH_NAME = guarded(
  'name',
  `				[object, oldObject].exists(obj,
					obj != null && (
						(has(obj.metadata.generateName) && obj.metadata.generateName != "" && params.spec.match.name.endsWith("*") && string(obj.metadata.generateName).matches("^" + string(params.spec.match.name).replace("*", ".*") + "$")) ||
						(has(obj.metadata.name) && string(obj.metadata.name).matches("^" + string(params.spec.match.name).replace("*", ".*") + "$"))
					)
				)`,
);

/** Gatekeeper's four constraint matchers, in its order. */
export function constraintMatchers(): CelNamedExpression[] {
  return [
    { name: 'gatekeeper_internal_match_excluded_namespaces', expression: guarded('excludedNamespaces', namespaceGlob('!', 'excludedNamespaces')) },
    { name: 'gatekeeper_internal_match_namespaces', expression: guarded('namespaces', namespaceGlob('', 'namespaces')) },
    { name: 'gatekeeper_internal_match_name', expression: MATCH_NAME },
    { name: 'gatekeeper_internal_match_kinds', expression: MATCH_KINDS },
  ];
}

const globalNamespaces = (list: string, namespaceTest: string, listName: string) => `
	[object, oldObject].exists(obj,
		obj != null && (
			// For namespace objects, check if the namespace name itself is in the ${listName} list
			(has(obj.kind) && obj.kind == "Namespace" && has(obj.metadata.name)) ? (
				![${list}].exists(nsMatcher,
					${namespaceTest}
				)
			) : (
				// cluster-scoped objects (non-namespace) always match
				!has(obj.metadata.namespace) || obj.metadata.namespace == "" ? true : (
					![${list}].exists(nsMatcher,
						${nsMatches('obj.metadata.namespace')}
					)
				)
			)
		)
	)
	`;

const quoted = (namespaces: string[]) => namespaces.map((ns) => `"${ns}"`).join(',');

/** The Config's namespaces excluded from the webhook (Gatekeeper: from its Config, with scope sync). */
export function globalExcludedNamespaces(namespaces: string[]): CelNamedExpression {
  return { name: 'gatekeeper_internal_match_global_excluded_namespaces', expression: globalNamespaces(quoted(namespaces), nsMatches('obj.metadata.name'), 'exclusion') };
}

/** The --exempt-namespace flags: a Namespace itself is exempt only while it carries the ignore label. */
export function globalExemptedNamespaces(namespaces: string[]): CelNamedExpression {
  const test = `${nsMatches('obj.metadata.name')} &&
					has(obj.metadata.labels) &&
					("admission.gatekeeper.sh/ignore" in obj.metadata.labels)`;
  return { name: 'gatekeeper_internal_match_global_exempted_namespaces', expression: globalNamespaces(quoted(namespaces), test, 'exemption') };
}

/** variables.anyObject and variables.params, ahead of the template's own. */
export function gatekeeperVariables(): CelNamedExpression[] {
  return [
    { name: 'anyObject', expression: 'has(request.operation) && request.operation == "DELETE" && object == null ? oldObject : object' },
    { name: 'params', expression: '!has(params.spec) ? null : !has(params.spec.parameters) ? null: params.spec.parameters' },
  ];
}
