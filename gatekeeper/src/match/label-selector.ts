// Kubernetes label selectors (metav1.LabelSelector): matchLabels AND matchExpressions (In, NotIn, Exists, DoesNotExist).
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export class SelectorError extends Error {}

/** Checks the selector's shape once (when the constraint is added) so matching never throws. */
export function validateSelector(sel: unknown, where: string): LabelSelector {
  if (sel === null || typeof sel !== 'object' || Array.isArray(sel)) throw new SelectorError(`${where} must be an object`);
  const s = sel as LabelSelector;
  if (s.matchLabels !== undefined && (typeof s.matchLabels !== 'object' || Array.isArray(s.matchLabels) || s.matchLabels === null)) {
    throw new SelectorError(`${where}.matchLabels must be a map of strings`);
  }
  for (const [i, e] of (s.matchExpressions ?? []).entries()) {
    const at = `${where}.matchExpressions[${i}]`;
    if (!e || typeof e.key !== 'string') throw new SelectorError(`${at}.key is required`);
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (!Array.isArray(e.values) || e.values.length === 0) throw new SelectorError(`${at}: values must be non-empty for ${e.operator}`);
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (e.values?.length) throw new SelectorError(`${at}: values must be empty for ${e.operator}`);
        break;
      default:
        throw new SelectorError(`${at}: operator ${String(e.operator)} is not one of In, NotIn, Exists, DoesNotExist`);
    }
  }
  return s;
}

export function selectorMatches(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== String(v)) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    switch (e.operator) {
      case 'In':
        if (!has || !e.values!.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && e.values!.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}
