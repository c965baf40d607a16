// One parse of a review for every template that evaluates it. Each template is its own wasm module with its own memory,
// and OPA's opa_eval parses the input text again in each one: for a Pod review that was ~30 % of the evaluation time.
// Instead the review is parsed once, in the first module evaluated, at an address every member module leaves free (above
// the highest heap start among them), and the parsed bytes are copied to that same address in the others: opa_malloc's
// blocks hold absolute addresses, and every member runs the same OPA runtime (the compile cache is keyed by opa version),
// so the copy is the same value there. A module is admitted only when a value parsed by the first member and copied into
// it reads back unchanged. Templates that read data.inventory are never members: their heap start moves with it.
import { isDeepStrictEqual } from 'node:util';
import type { SharedInput, TemplateModule } from './wasm.js';

const encoder = new TextEncoder();
const PAGE = 65536;
const REVIEW_PREFIX = encoder.encode('{"review":');
const CLOSE = encoder.encode('}');

/** Every kind of JSON value, escapes, and objects large enough for their hash tables to grow. */
const CANARY_VALUE = {
  review: {
    kind: { group: '', version: 'v1', kind: 'Pod' },
    object: {
      metadata: { name: 'canary', labels: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, `v${i}`])) },
      list: [1, -2.5, 1e21, 12345678901234567890, 'caf\u00e9 \u2603 "q" \\ \n', true, false, null, {}, [], [[{ a: [] }]]],
    },
  },
};
const CANARY = encoder.encode(JSON.stringify(CANARY_VALUE));

export class SharedInputs {
  /** The module canaries are parsed in. */
  private reference?: TemplateModule;
  /** Where shared inputs start: at or above the heap start of every member. */
  private base = 0;

  /** Whether the module may evaluate shared inputs; checks that a value copied into it reads back the same. */
  admit(m: TemplateModule): boolean {
    const base = Math.max(this.base, align(m.heapStart));
    const reference = this.reference ?? m;
    try {
      if (!reference.reserve(base + CANARY.length + PAGE)) return false;
      const canary = reference.parseShared(base, CANARY);
      if (!m.reserve(canary.end + PAGE)) return false;
      if (!isDeepStrictEqual(JSON.parse(m.dumpShared(canary)), CANARY_VALUE)) return false;
    } catch {
      return false;
    }
    this.reference ??= m;
    this.base = base;
    return true;
  }

  /** The input of one review, parsed on first use. */
  review(reviewJson: Uint8Array): SharedReview {
    return new SharedReview(this.base, reviewJson);
  }
}

function align(addr: number): number {
  return Math.ceil(addr / 16) * 16;
}

export class SharedReview {
  /** Undefined: not parsed yet; null: could not be parsed (every module then parses the input itself). */
  private shared?: SharedInput | null;

  constructor(
    private readonly base: number,
    private readonly reviewJson: Uint8Array,
  ) {}

  /** The parsed input for `m` (parsed in m the first time), or undefined when m must parse the input itself. */
  for(m: TemplateModule): SharedInput | undefined {
    if (this.shared === undefined) {
      const json = new Uint8Array(REVIEW_PREFIX.length + this.reviewJson.length + CLOSE.length);
      json.set(REVIEW_PREFIX, 0);
      json.set(this.reviewJson, REVIEW_PREFIX.length);
      json.set(CLOSE, REVIEW_PREFIX.length + this.reviewJson.length);
      try {
        this.shared = m.reserve(this.base + json.length + PAGE) ? m.parseShared(this.base, json) : null;
      } catch {
        this.shared = null;
      }
    }
    if (!this.shared || !m.reserve(this.shared.end + PAGE)) return undefined;
    return this.shared;
  }
}
