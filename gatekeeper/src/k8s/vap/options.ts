// Gatekeeper's flags for ValidatingAdmissionPolicy generation, on `gatekeeper run`, with Gatekeeper v3.23's defaults
// (pkg/controller/constraint/constraint_controller.go: both true).
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
      'generate a ValidatingAdmissionPolicy for a K8sNativeValidation template that does not set source.generateVAP (default true, as Gatekeeper v3.23)',
      parseGoBool('--default-create-vap-for-templates'),
    )
    .option(
      '--default-create-vap-binding-for-constraints [bool]',
      "generate a ValidatingAdmissionPolicyBinding for a constraint that is not scoped, if its template's policy is generated (default true, as Gatekeeper v3.23)",
      parseGoBool('--default-create-vap-binding-for-constraints'),
    );
}

/** The manager's vap settings from the flags. */
export function vapSettings(flags: VapFlags): { defaultCreatePolicy: boolean; defaultCreateBinding: boolean } {
  return { defaultCreatePolicy: flags.defaultCreateVapForTemplates !== false, defaultCreateBinding: flags.defaultCreateVapBindingForConstraints !== false };
}
