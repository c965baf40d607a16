// yaml.* as OPA's internal/yaml reads YAML (go-yaml v3, the 1.2 core schema): every document of the text must parse,
// the first is the value; duplicate keys keep the last, merge keys merge.
import YAML from 'yaml';
import { BuiltinError, type BuiltinTable } from './types.js';
import { str } from './strings.js';

const options = { uniqueKeys: false, merge: true } as const;

/** A parse error worded as go-yaml words the common ones ("yaml: line N: …"); others keep the parser's text. */
function goYamlError(e: YAML.YAMLError): Error {
  const line = e.linePos?.[0].line ?? 1;
  const text = e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
  const flow = /^Flow (sequence|map)/.exec(text);
  if (flow) return new Error(`yaml: line ${line}: did not find expected ',' or '${flow[1] === 'map' ? '}' : ']'}'`);
  if (e.code === 'TAB_AS_INDENT') return new Error(`yaml: line ${line}: found character that cannot start any token`);
  return new Error(`yaml: line ${line}: ${text}`);
}

/** The first document's value (null for none); throws the first error of any document. */
function firstDocument(text: string): unknown {
  const docs = YAML.parseAllDocuments(text, options);
  const list = Array.isArray(docs) ? docs : [];
  for (const d of list) if (d.errors.length) throw goYamlError(d.errors[0]!);
  return list[0]?.toJS(options) ?? null;
}

/** Plain text go-yaml would read back as something else (YAML 1.1 booleans, null, numbers): it double-quotes it. */
const readsAsOther = /^(?:[yYnN~]|yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|null|Null|NULL|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN|[-+]?(?:0|[1-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?|0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|)$/;

/**
 * go-yaml v3's output (OPA marshals at indent 2): sorted keys, strings that would read back as another type or hold
 * control characters double-quoted, other strings needing quotes single-quoted, no line wrapping.
 */
function goYamlMarshal(x: unknown): string {
  const doc = new YAML.Document(x, { sortMapEntries: true });
  YAML.visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && (readsAsOther.test(node.value) || /[\t\x00-\x08\x0b-\x1f\x7f]/.test(node.value))) node.type = 'QUOTE_DOUBLE';
      if (Object.is(node.value, -0)) node.value = 0;
    },
  });
  return doc.toString({ singleQuote: true, lineWidth: 0 });
}

export const yamlBuiltins: BuiltinTable = {
  'yaml.is_valid': (x) => {
    if (typeof x !== 'string') return false;
    try {
      firstDocument(x);
      return true;
    } catch {
      return false;
    }
  },
  'yaml.marshal': (x) => goYamlMarshal(x),
  'yaml.unmarshal': (x) => {
    try {
      return firstDocument(str('yaml.unmarshal', 1, x));
    } catch (e) {
      if (e instanceof BuiltinError) throw e;
      throw new BuiltinError('yaml.unmarshal', (e as Error).message);
    }
  },
};
