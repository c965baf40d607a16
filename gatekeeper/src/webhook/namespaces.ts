// Namespace exemption patterns, as Gatekeeper's --exempt-namespace / --exempt-namespace-prefix / --exempt-namespace-suffix.

/** A pattern is an exact name, `prefix*` or `*suffix`. */
export function namespacePatternMatches(pattern: string, namespace: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return namespace.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith('*')) return namespace.endsWith(pattern.slice(1));
  return pattern === namespace;
}

export class NamespaceExemptions {
  private readonly exact = new Set<string>();
  private readonly patterns: string[] = [];

  constructor(patterns: readonly string[]) {
    for (const p of patterns) {
      if (!p) continue;
      if (p.includes('*')) {
        if (p.indexOf('*') !== p.lastIndexOf('*') || (!p.startsWith('*') && !p.endsWith('*'))) {
          throw new Error(`exempt namespace pattern ${JSON.stringify(p)}: a single * is allowed, at the start or at the end`);
        }
        this.patterns.push(p);
      } else {
        this.exact.add(p);
      }
    }
  }

  isExempt(namespace: string | undefined): boolean {
    if (!namespace) return false;
    if (this.exact.has(namespace)) return true;
    return this.patterns.some((p) => namespacePatternMatches(p, namespace));
  }

  list(): string[] {
    return [...this.exact, ...this.patterns];
  }
}
