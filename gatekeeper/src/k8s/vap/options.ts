// Gatekeeper's flags for ValidatingAdmissionPolicy generation, on `gatekeeper run`.
import type { Command } from 'commander';
import { parseGoBool } from '../../cli/engine-options.js';

export interface VapFlags {
  defaultCreateVapForTemplates?: boolean;
  defaultCreateVapBindingForConstraints?: boolean;
}

export function addVapOptions(cmd: Command): Command {
  return cmd
    .option(
      '--default-create-vap-for-templates [bool]',
      'generate a ValidatingAdmissionPolicy for a K8sNativeValidation template that does not set source.generateVAP (default false here; Gatekeeper v3.23: true)',
      parseGoBool('--default-create-vap-for-templates'),
    )
    .option(
      '--default-create-vap-binding-for-constraints [bool]',
      "generate a ValidatingAdmissionPolicyBinding for a constraint that is not scoped, if its template's policy is generated (default false here; Gatekeeper v3.23: true)",
      parseGoBool('--default-create-vap-binding-for-constraints'),
    );
}

/** The manager's vap settings from the flags. */
export function vapSettings(flags: VapFlags): { defaultCreatePolicy: boolean; defaultCreateBinding: boolean } {
  return { defaultCreatePolicy: flags.defaultCreateVapForTemplates === true, defaultCreateBinding: flags.defaultCreateVapBindingForConstraints === true };
}
