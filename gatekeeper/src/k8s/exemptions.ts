// The webhook's namespace exemptions in a cluster: the fixed --exempt-namespace patterns plus the namespaces the Config
// resource excludes from the webhook process, which change while the process runs.
import { NamespaceExemptions } from '../webhook/namespaces.js';

export class DynamicExemptions extends NamespaceExemptions {
  private fromConfig = new NamespaceExemptions([]);

  /** Replaces the Config-provided patterns (validated like the flags: a single leading or trailing *). */
  setConfigured(patterns: readonly string[]): void {
    this.fromConfig = new NamespaceExemptions(patterns);
  }

  override isExempt(namespace: string | undefined): boolean {
    return super.isExempt(namespace) || this.fromConfig.isExempt(namespace);
  }

  override list(): string[] {
    return [...super.list(), ...this.fromConfig.list()];
  }
}
