// The --exempt-namespace flags shared by `webhook` and `run` (Gatekeeper's spelling), and the patterns they make.
import type { Command } from 'commander';
import { collect } from './engine-options.js';

export interface ExemptionFlags {
  exemptNamespace: string[];
  exemptNamespacePrefix: string[];
  exemptNamespaceSuffix: string[];
}

export function addExemptionOptions(cmd: Command): Command {
  return cmd
    .option('--exempt-namespace <ns>', 'namespace exempt from validation, allowed the admission.gatekeeper.sh/ignore label (repeatable; prefix* and *suffix allowed)', collect, [])
    .option('--exempt-namespace-prefix <prefix>', 'namespaces starting with this are exempt (repeatable)', collect, [])
    .option('--exempt-namespace-suffix <suffix>', 'namespaces ending with this are exempt (repeatable)', collect, []);
}

/** Names and `prefix*` / `*suffix` patterns, as NamespaceExemptions takes them. */
export function exemptNamespacePatterns(flags: ExemptionFlags): string[] {
  return [...flags.exemptNamespace, ...flags.exemptNamespacePrefix.map((p) => `${p}*`), ...flags.exemptNamespaceSuffix.map((s) => `*${s}`)];
}
