// Data builtins beyond OPA's own cases, against opa eval: units in scientific notation, json.patch and object.subset
// on sets, YAML streams and go-yaml's output, JSON-schema wording, Go's JSON output, CIDR expansion, hex errors,
// timestamps out of range.
import t from 'tap';
import { agreeWithGo } from './go-agreement.js';

t.test('units in every notation Go reads', async (t) => {
  await agreeWithGo(t, [
    'units.parse("1e3")',
    'units.parse("1.5E-3k")',
    'units.parse("2e2Mi")',
    'units.parse("-1.5m")',
    'units.parse("1e1234567")',
    'units.parse("1/2")',
    'units.parse("e3")',
    'units.parse_bytes("1e3kb")',
    'units.parse_bytes("1.5e2")',
    'units.parse_bytes("123456789012345678901234567890")',
    'units.parse_bytes("0.1e1KiB")',
    'units.parse_bytes("1-2")',
  ]);
});

t.test('json.patch and object.subset keep sets', async (t) => {
  await agreeWithGo(t, [
    'json.patch({"a": {1, 2}}, [{"op": "add", "path": "/a/3", "value": 3}])',
    'json.patch({"a": {1, 2}}, [{"op": "add", "path": ["a", 3], "value": 3}])',
    'json.patch({"a": {"x", "y"}}, [{"op": "remove", "path": "/a/x"}])',
    'json.patch({"a": [1, 2]}, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "move", "from": "/a/0", "path": "/b"}])',
    'json.patch({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}])',
    'json.patch({"a": [1]}, [{"op": "add", "path": "/a/01", "value": 3}])',
    'json.patch({"a": 1}, [{"op": "test", "path": "/a", "value": 1.0}, {"op": "copy", "from": "/a", "path": "/c"}])',
    'json.patch({"a": 1}, [{"op": "nope", "path": "/a"}])',
    'object.subset({"a": {1, 2, 3}}, {"a": {1, 3}})',
    'object.subset({1, 2, 3}, {3})',
    'object.subset([1, 2, 3], {3, 1})',
    'object.subset([], set())',
    'object.subset([1, 2, 1, 3], [1, 3])',
    'object.subset({"a": 1}, [1])',
  ]);
});

t.test('YAML streams, schema errors, Go JSON, CIDRs, hex, timestamps', async (t) => {
  await agreeWithGo(t, [
    'yaml.unmarshal("a: 1\\n---\\nb: 2")',
    'yaml.unmarshal("a: 1\\na: 2")',
    'yaml.is_valid("a: 1\\n---\\n\\tb: 2")',
    // json.unmarshal hides a wrong type from the type checker, as input would
    'yaml.is_valid(json.unmarshal("[\\"a: 1\\"]"))',
    'json.match_schema({"a": "x", "b": 1}, {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["c"], "additionalProperties": false})',
    'json.match_schema({"l": [1, 5, "x"]}, {"properties": {"l": {"type": "array", "items": {"type": "number", "minimum": 2}}}})',
    'json.match_schema({"s": "abc"}, {"properties": {"s": {"enum": ["x", "y"], "maxLength": 2}}})',
    'json.verify_schema({"type": "nope"})',
    'json.verify_schema("{")',
    'json.marshal_with_options({"b": "<&>", "a": [1, {"c": null}]}, {"prefix": "> ", "indent": "  "})',
    'json.marshal_with_options({"a": []}, {"pretty": false, "indent": "x"})',
    'json.marshal_with_options(1, json.unmarshal("{\\"pretty\\": \\"yes\\"}"))',
    'net.cidr_expand("2001:db8::/126")',
    'net.cidr_expand("10.0.0.1/31")',
    'net.cidr_expand("10.0.0.0/40")',
    'hex.decode("6")',
    'hex.decode("zz")',
    'hex.decode("6g")',
    'time.date(10000000000000000000)',
    'time.clock([-10000000000000000000, "UTC"])',
  ]);
});

t.test("yaml.marshal writes what go-yaml writes", async (t) => {
  const long = 'word '.repeat(30).trim();
  await agreeWithGo(t, [
    'yaml.marshal({"b": [1, 2], "a": {"c": "x y"}, "d": "yes", "e": "", "f": null, "g": 1.5, "h": "1", "i": "a: b", "j": [], "k": {}})',
    'yaml.marshal([{"a": [{"b": 1}]}, "multi\\nline", true, "on"])',
    `yaml.marshal({"long": "${long}", "lead": " x", "trail": "x ", "hash": "a #b", "colon": "a:b", "dash": "- x", "q": "it's", "dq": "say \\"hi\\"", "uni": "é ✓", "tab": "a\\tb", "nl": "a\\nb\\n", "star": "*x", "amp": "&x", "brace": "{x}", "pct": "%x", "at": "@x"})`,
    'yaml.marshal([[1, [2]], {"a": [{"b": {"c": []}}]}, 0.1, 1e21, -0, 123456789012])',
    'yaml.marshal({"1": "a", "true": "b", "": "c", "a b": "d"})',
  ]);
});
