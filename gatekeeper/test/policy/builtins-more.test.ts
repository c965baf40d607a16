// net.cidr_merge / cidr_contains_matches, base64url, HMACs, uuid.parse, strings.split_n, regex.template_match,
// regex.globs_match, graph.reachable_paths, trace and uri.* against OPA's Go evaluator (values, and Go's error messages).
import t from 'tap';
import { agreeWithGo } from './go-agreement.js';

t.test('net.cidr_merge', async (t) => {
  await agreeWithGo(t, [
    'net.cidr_merge(["10.1.2.3"])',
    'net.cidr_merge(["192.168.1.5", "192.168.1.4"])',
    'net.cidr_merge(["130.1.0.0", "224.0.0.1"])',
    'net.cidr_merge(["192.168.1.0/24", "192.168.0.0/24", "10.0.0.0/8", "10.0.0.0/16"])',
    'net.cidr_merge(["192.168.1.1/24"])',
    'net.cidr_merge(["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"])',
    'net.cidr_merge(["10.0.0.1/32", "10.0.0.2/32", "10.0.0.3/32", "10.0.0.4/32"])',
    'net.cidr_merge(["0.0.0.0/0", "1.2.3.4/32"])',
    'net.cidr_merge(["255.255.255.255/32", "255.255.255.254/32"])',
    'net.cidr_merge(["2001:db8::/33", "2001:db8:8000::/33"])',
    'net.cidr_merge(["2001:db8::1/128", "2001:db8::2/127", "2001:db8::4/126", "2001:db8::/128"])',
    'net.cidr_merge(["192.168.1.0/24", "2001:db8::/32", "::ffff:10.0.0.0/104"])',
    'net.cidr_merge(["fe80::/10", "fe80:0:0:1::/64", "::/128"])',
    'net.cidr_merge({"10.0.0.0/25", "10.0.0.128/25"})',
    'net.cidr_merge([])',
    'net.cidr_merge(["1.2.3.4/33"])',
    'net.cidr_merge(["::1"])',
    'net.cidr_merge(["01.2.3.4"])',
    'net.cidr_merge(["fe80::1%eth0/64"])',
    // json.unmarshal hides the value's type from the type checker, so the builtin sees it
    'net.cidr_merge(json.unmarshal(`["10.0.0.0/8", 1]`))',
    // the results are sets inside the policy, as in Go (set equality, set operations)
    'net.cidr_merge(["10.0.0.0/25", "10.0.0.128/25"]) == {"10.0.0.0/24"}',
    'net.cidr_merge([]) == set()',
    'net.cidr_merge(["10.0.0.0/8", "192.168.0.0/16"]) | {"1.0.0.0/8"}',
    'net.cidr_expand("10.0.0.0/31") == {"10.0.0.0", "10.0.0.1"}',
    'net.cidr_contains_matches("10.0.0.0/8", ["10.1.2.3"]) == {["10.0.0.0/8", 0]}',
    // a set operand is indexed by its elements, an array by position
    'net.cidr_contains_matches({"10.0.0.0/8", "192.168.0.0/16"}, {"10.1.2.3", "192.168.1.1", "8.8.8.8"})',
    'net.cidr_contains_matches({["10.0.0.0/8", "x"]}, ["10.1.2.3"])',
  ]);
});

t.test('net.cidr_contains_matches', async (t) => {
  await agreeWithGo(t, [
    'net.cidr_contains_matches("10.0.0.0/8", "10.1.2.3")',
    'net.cidr_contains_matches(["10.0.0.0/8", "192.168.0.0/16"], ["10.1.2.3", "192.168.1.0/24", "172.16.0.1", "10.0.0.0/7"])',
    'net.cidr_contains_matches({"a": "10.0.0.0/8", "b": ["0.0.0.0/0", "extra"]}, {"x": "10.9.9.9", "y": ["8.8.8.8", 1]})',
    'net.cidr_contains_matches(["::/0", "2001:db8::/32", "::ffff:10.0.0.0/104"], ["2001:db8::1", "10.1.1.1", "2001:db8::/48", "::ffff:10.2.2.2"])',
    'net.cidr_contains_matches("0.0.0.0/0", ["::1", "1.1.1.1"])',
    'net.cidr_contains_matches(["1.2.3.0/24"], [])',
    'net.cidr_contains_matches(["bad"], ["1.1.1.1"])',
    'net.cidr_contains_matches(["1.0.0.0/8"], ["not an ip"])',
    'net.cidr_contains_matches([[]], ["1.1.1.1"])',
    'net.cidr_contains_matches(["1.0.0.0/8"], [[]])',
    'net.cidr_contains_matches(json.unmarshal(`[1]`), ["1.1.1.1"])',
  ]);
});

t.test('encodings, HMACs, uuid.parse', async (t) => {
  await agreeWithGo(t, [
    'base64url.encode_no_pad("hello?>")',
    'base64url.encode_no_pad("")',
    'base64url.encode_no_pad("héllo wörld ✓")',
    'crypto.hmac.md5("message", "key")',
    'crypto.hmac.sha1("message", "kéy")',
    'crypto.hmac.sha1("", "")',
    'uuid.parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8")',
    'uuid.parse("000003e8-cbb9-21ea-b201-00045a86c8a1")',
    'uuid.parse("c0c1aa5e-d9c8-4f3c-8c7d-6f8e3b1a2b4c")',
    'uuid.parse("urn:uuid:C0C1AA5E-D9C8-4F3C-8C7D-6F8E3B1A2B4C")',
    'uuid.parse("{c0c1aa5e-d9c8-4f3c-ec7d-6f8e3b1a2b4c}")',
    'uuid.parse("xc0c1aa5e-d9c8-4f3c-cc7d-6f8e3b1a2b4cx")',
    'uuid.parse("c0c1aa5ed9c84f3c0c7d6f8e3b1a2b4c")',
    'uuid.parse("c0c1aa5e-d9c8-4f3c-8c7d-6f8e3b1a2b4")',
    'uuid.parse("c0c1aa5e_d9c8-4f3c-8c7d-6f8e3b1a2b4c")',
    'uuid.parse("")',
  ]);
});

t.test('strings.split_n, regex.template_match, regex.globs_match, graph.reachable_paths, trace', async (t) => {
  await agreeWithGo(t, [
    'strings.split_n("a,b,c,d", ",", 2)',
    'strings.split_n("a,b,c,d", ",", 10)',
    'strings.split_n("a,b,c,d", ",", 0)',
    'strings.split_n("a,b,c,d", ",", -2)',
    'strings.split_n("a,b,c,d", ",", -10)',
    'strings.split_n("héllo", "", 3)',
    'strings.split_n("héllo", "", -2)',
    'strings.split_n("", ",", 1)',
    'strings.split_n("", "", 1)',
    'strings.split_n("abc", ",", 1.5)',
    'regex.template_match("urn:foo:{.*}", "urn:foo:bar:baz", "{", "}")',
    'regex.template_match("urn:foo.bar.com:{.*}", "urn:foo.bar.com:bar:baz", "{", "}")',
    'regex.template_match("urn:foo.bar.com:{.*}", "urn:fooXbar.com:bar:baz", "{", "}")',
    'regex.template_match("urn:<[a-z]+>:<[0-9]{2,3}>", "urn:abc:123", "<", ">")',
    'regex.template_match("urn:<[a-z]+>:<[0-9]{2,3}>", "urn:abc:1234", "<", ">")',
    'regex.template_match("a{b{c}d}e", "abcde", "{", "}")',
    'regex.template_match("urn:{.*", "urn:x", "{", "}")',
    'regex.template_match("urn:}.*{", "urn:x", "{", "}")',
    'regex.template_match("urn:{.*}", "urn:x", "{{", "}")',
    'regex.template_match("urn:{.*}", "urn:x", "{", "")',
    { expr: 'regex.template_match("urn:{(}", "urn:x", "{", "}")', anyError: true },
    'regex.globs_match("a.a.", ".b.b")',
    'regex.globs_match("[a-z]+", "[0-9]*")',
    'regex.globs_match("[a-c]+x", "b*.")',
    'regex.globs_match("abc.*", "ab+c*d")',
    'regex.globs_match("a*b*c*", "a+a*")',
    'regex.globs_match("x.*y", "x[abc]+z")',
    'regex.globs_match("", "")',
    'regex.globs_match("a", "")',
    'regex.globs_match(`\\*`, "*")',
    'regex.globs_match(`\\*`, ".")',
    'regex.globs_match(`[\\]-]+`, "]")',
    'regex.globs_match("[a-", "a")',
    'regex.globs_match("[z-a]", "a")',
    'regex.globs_match("a]", "a")',
    'regex.globs_match("*a", "a")',
    'regex.globs_match("[-a]", "a")',
    'regex.globs_match("[a-]]", "a")',
    'regex.globs_match(`a\\`, "a")',
    'regex.globs_match("[ab", "a")',
    'graph.reachable_paths({"a": ["b"], "b": ["c"], "c": ["a"], "d": []}, ["a", "d", "z"])',
    'graph.reachable_paths(json.unmarshal(`{"a": ["b", "c"], "b": ["d"], "c": ["d", "x"], "d": null}`), {"a"})',
    'graph.reachable_paths({"a": {"b"}, "b": set()}, ["a"])',
    'graph.reachable_paths({"1": ["2"], "2": []}, json.unmarshal(`[1, "1"]`))',
    'graph.reachable_paths({}, [])',
    'trace("note")',
  ]);
});

t.test('uri.parse and uri.is_valid (Go url.Parse)', async (t) => {
  const uris = [
    'https://user:pa%20ss@Example.COM:8443/a%20b/c%2Fd?x=1&y=2#frag%20ment',
    'HTTP://example.com',
    'http://[::1]:80/p',
    'http://[fe80::1%25eth0]/',
    'mailto:someone@example.com',
    'urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    'file:///etc/passwd',
    '/relative/path?q',
    'relative/p%41th',
    '//host.only',
    'https://h/?',
    'http://h:/x',
    '*',
    'spiffe://td/ns/default/sa/web',
    'https://例え.jp/パス?クエリ#フラグ',
    'http://a b.com/',
    'http://h/%zz',
    'http://h:port/',
    'http://h:1:2/',
    'ldap://h:1:2/',
    'http://[1.2.3.4]/',
    'http://x[y]/',
    'http://[::1/',
    ':nope',
    '1http://x',
    'http://h/\u0007',
    'a:b/c:d',
    'http://us%zzer@h/',
    'http://u@s@h/',
    'http://h/#%zz',
    '',
  ];
  await agreeWithGo(t, [
    ...uris.map((u) => `uri.parse(${JSON.stringify(u)})`),
    ...uris.map((u) => `uri.is_valid(${JSON.stringify(u)})`),
    { expr: 'uri.parse("http://[::zz]/")', anyError: true },
  ]);
});
