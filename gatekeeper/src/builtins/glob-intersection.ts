// regex.globs_match: a port of github.com/yashtewari/glob-intersection v0.2.0 (what OPA uses), quirks included.
// Globs of characters, `.`, `[...]` sets with ranges, each optionally followed by `+` or `*`; `\` escapes.

const enum Kind {
  Character,
  Dot,
  Set,
}
const enum Flag {
  None,
  Plus,
  Star,
}

interface Token {
  kind: Kind;
  flag: Flag;
  rune?: string;
  runes?: Set<string>;
}

export class GlobError extends Error {}

function invalid(input: string[], index: number, message: string): GlobError {
  return new GlobError(`input:${input.join('')}, pos:${index}, ${message}: the input provided is invalid`);
}

const END = Symbol('end');

/** [next index, rune, escaped] or END. */
function nextRune(index: number, input: string[]): [number, string, boolean] | typeof END {
  if (index >= input.length) return END;
  if (input[index] === '\\') {
    if (index < input.length - 1) return [index + 2, input[index + 1]!, true];
    throw invalid(input, index, 'input ends with a \\ (escape) character');
  }
  return [index + 1, input[index]!, false];
}

function nextTokenSet(index: number, input: string[]): [number, Token] {
  const runes: string[] = [];
  let prev = '';
  let prevExists = false;
  let i = index;
  for (let next = nextRune(i, input); next !== END; next = nextRune(i, input)) {
    let [ni, r, escaped] = next;
    i = ni;
    if (!escaped && r === ']') return [i, { kind: Kind.Set, flag: Flag.None, runes: new Set(runes) }];
    if (!escaped && r === '-') {
      if (!prevExists) throw invalid(input, i, "range character '-' must be preceded by a Unicode character");
      if (i >= input.length - 1) throw invalid(input, i, "range character '-' must be followed by a Unicode character");
      const after = nextRune(i, input);
      if (after === END) throw invalid(input, i, "range character '-' must be followed by a Unicode character");
      [ni, r, escaped] = after;
      i = ni;
      if (!escaped && (r === ']' || r === '-')) throw invalid(input, i, "range character '-' cannot be followed by a special symbol");
      if (r.codePointAt(0)! < prev.codePointAt(0)!) throw invalid(input, i, `range is out of order: '${r}' comes before '${prev}' in Unicode`);
      for (let x = prev.codePointAt(0)!; x <= r.codePointAt(0)!; x++) runes.push(String.fromCodePoint(x));
      prevExists = false;
      continue;
    }
    runes.push(r);
    prev = r;
    prevExists = true;
  }
  throw invalid(input, i, 'found [ without matching ]');
}

function tokenize(input: string[]): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  for (let next = nextRune(i, input); next !== END; next = nextRune(i, input)) {
    const [ni, r, escaped] = next;
    i = ni;
    let token: Token;
    if (escaped) token = { kind: Kind.Character, flag: Flag.None, rune: r };
    else if (r === '.') token = { kind: Kind.Dot, flag: Flag.None };
    else if (r === ']') throw invalid(input, i, "set-close ']' with no preceding '['");
    else if (r === '[') [i, token] = nextTokenSet(i, input);
    else if (r === '+' || r === '*') throw invalid(input, i, `flag '${r}' must be preceded by a non-flag`);
    else token = { kind: Kind.Character, flag: Flag.None, rune: r };
    const flag = nextRune(i, input);
    if (flag !== END && !flag[2] && (flag[1] === '+' || flag[1] === '*')) {
      token.flag = flag[1] === '+' ? Flag.Plus : Flag.Star;
      i = flag[0];
    }
    tokens.push(token);
  }
  return tokens;
}

function equal(a: Token, b: Token): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === Kind.Character) return a.rune === b.rune;
  if (a.kind === Kind.Set) return a.runes!.size === b.runes!.size && [...a.runes!].every((r) => b.runes!.has(r));
  return true;
}

/** Consecutive equal flagged tokens collapse into one (`+` wins over `*`). */
function simplify(tokens: Token[]): Token[] {
  if (!tokens.length) return tokens;
  const simple = [tokens[0]!];
  let latest = tokens[0]!;
  for (const t of tokens.slice(1)) {
    if (t.flag !== Flag.None && latest.flag !== Flag.None && equal(t, latest)) {
      simple[simple.length - 1]!.flag = t.flag === Flag.Plus || latest.flag === Flag.Plus ? Flag.Plus : Flag.Star;
    } else {
      latest = t;
      simple.push(t);
    }
  }
  return simple;
}

function match(a: Token, b: Token): boolean {
  const [t1, t2] = a.kind > b.kind ? [b, a] : [a, b];
  if (t1.kind === Kind.Character) {
    if (t2.kind === Kind.Character) return t1.rune === t2.rune;
    if (t2.kind === Kind.Dot) return true;
    return t2.runes!.has(t1.rune!);
  }
  if (t1.kind === Kind.Dot) return true;
  return [...t1.runes!].some((r) => t2.runes!.has(r));
}

function trim(g1: Token[], g2: Token[]): [Token[], Token[]] | undefined {
  let l = 0;
  for (; l < g1.length && l < g2.length && g1[l]!.flag === Flag.None && g2[l]!.flag === Flag.None; l++) {
    if (!match(g1[l]!, g2[l]!)) return undefined;
  }
  if (l > 0) l--;
  let r1 = g1.length - 1;
  let r2 = g2.length - 1;
  for (; r1 >= 0 && r1 >= l && r2 >= 0 && r2 >= l && g1[r1]!.flag === Flag.None && g2[r2]!.flag === Flag.None; r1--, r2--) {
    if (!match(g1[r1]!, g2[r2]!)) return undefined;
  }
  if (r1 < g1.length - 1) {
    r1++;
    r2++;
  }
  return [g1.slice(l, r1 + 1), g2.slice(l, r2 + 1)];
}

function intersectNormal(g1: Token[], g2: Token[]): boolean {
  let i = 0;
  let j = 0;
  for (; i < g1.length && j < g2.length; i++, j++) {
    if (g1[i]!.flag === Flag.None && g2[j]!.flag === Flag.None) {
      if (!match(g1[i]!, g2[j]!)) return false;
    } else return intersectSpecial(g1.slice(i), g2.slice(j));
  }
  return i === g1.length && j === g2.length;
}

function intersectSpecial(g1: Token[], g2: Token[]): boolean {
  if (g1[0]!.flag !== Flag.None) return g1[0]!.flag === Flag.Plus ? intersectPlus(g1, g2) : intersectStar(g1, g2);
  return g2[0]!.flag === Flag.Plus ? intersectPlus(g2, g1) : g2[0]!.flag === Flag.Star ? intersectStar(g2, g1) : false;
}

function intersectPlus(plussed: Token[], other: Token[]): boolean {
  if (!match(plussed[0]!, other[0]!)) return false;
  if (intersectStar(plussed, other.slice(1))) return true;
  return other[0]!.flag !== Flag.None && intersectNormal(plussed.slice(1), other);
}

function intersectStar(starred: Token[], other: Token[]): boolean {
  const star = starred[0]!;
  const next = starred[1];
  for (const [i, t] of other.entries()) {
    if (next && match(t, next)) {
      if (intersectNormal(starred.slice(1), other.slice(i))) return true;
      if (!match(t, star)) return false;
    } else if (!match(t, star)) return false;
  }
  return next === undefined;
}

/** gintersect.NonEmpty. */
export function globsIntersect(a: string, b: string): boolean {
  const g1 = simplify(tokenize(Array.from(a)));
  const g2 = simplify(tokenize(Array.from(b)));
  const trimmed = trim(g1, g2);
  return trimmed !== undefined && intersectNormal(...trimmed);
}
