// A case assertion with gator's semantics: `violations` is an exact count, "yes" (at least one, the default) or "no";
// `message` is a Go (RE2) regular expression searched in each result's msg, and the count then covers matching results.
import { RE2 } from 're2-wasm';
import type { Assertion } from './suite.js';

export function checkAssertion(a: Assertion, messages: string[]): string | undefined {
  let re: RE2 | undefined;
  if (a.message !== undefined && a.message !== null) {
    try {
      re = new RE2(String(a.message), 'u');
    } catch (e) {
      return `invalid message regex ${JSON.stringify(a.message)}: ${(e as Error).message}`;
    }
  }
  const matching = re ? messages.filter((m) => re.test(m)).length : messages.length;
  const want = a.violations === undefined || a.violations === null ? 'yes' : a.violations === true ? 'yes' : a.violations === false ? 'no' : a.violations;
  const containing = re ? ` containing ${JSON.stringify(a.message)}` : '';
  const got = `got ${matching} violations${containing}`;
  const all = `; got messages ${JSON.stringify(messages)}`;
  if (typeof want === 'number' || (typeof want === 'string' && /^\d+$/.test(want))) {
    const n = Number(want);
    if (!Number.isInteger(n) || n < 0) return 'assertion.violations, if set, must be a nonnegative integer, "yes", or "no"';
    return matching === n ? undefined : `${got} but want exactly ${n}${all}`;
  }
  if (want === 'yes') return matching > 0 ? undefined : `${got} but want at least 1${all}`;
  if (want === 'no') return matching === 0 ? undefined : `${got} but want none${all}`;
  return `assertion.violations, if set, must be a nonnegative integer, "yes", or "no" (got ${JSON.stringify(want)})`;
}
