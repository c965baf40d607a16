/** Gatekeeper's util.Wildcard: `*` as a prefix, a suffix, or both (contains); otherwise an exact name. */
export function wildcardMatches(pattern: string, candidate: string): boolean {
  const pre = pattern.startsWith('*');
  const suf = pattern.endsWith('*') && pattern.length > 1;
  if (pre && suf) return candidate.includes(pattern.slice(1, -1));
  if (pre) return candidate.endsWith(pattern.slice(1));
  if (suf) return candidate.startsWith(pattern.slice(0, -1));
  return pattern === candidate;
}

/** A prefix pattern (`pod-*`) also matches an object whose generateName starts with that prefix. */
export function wildcardMatchesGenerateName(pattern: string, generateName: string): boolean {
  if (!generateName || !pattern.endsWith('*') || pattern.startsWith('*')) return false;
  return generateName.startsWith(pattern.slice(0, -1));
}
