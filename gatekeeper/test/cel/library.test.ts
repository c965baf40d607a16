// Kubernetes' CEL libraries provided here, against their upstream cases: cel-go ext/sets_test.go (TestSets: every
// expression must be true), the examples of k8s.io/apiserver pkg/cel/library lists.go and regex.go. Ext strings is
// covered by the cel-spec string_ext suite (conformance.test.ts).
import t from 'tap';
import { isCelError } from '@bufbuild/cel';
import { run } from './run-expression.js';

t.test('ext sets: cel-go TestSets', async (t) => {
  const cases = [
    ['sets.contains(x, [1, 2, 3])', { x: [5n, 4n, 3n, 2n, 1n] }],
    ['sets.contains(x, [1, 1, 1, 1, 1])', { x: [5n, 4n, 3n, 2n, 1n] }],
    'sets.contains([], [])',
    'sets.contains([1], [])',
    'sets.contains([1], [1])',
    'sets.contains([1], [1, 1])',
    'sets.contains([1, 1], [1])',
    'sets.contains([2, 1], [1])',
    'sets.contains([1, 2, 3, 4], [2, 3])',
    'sets.contains([1], [1.0, 1])',
    'sets.contains([1, 2], [2u, 2.0])',
    'sets.contains([1, 2u], [2, 2.0])',
    'sets.contains([1, 2.0, 3u], [1.0, 2u, 3])',
    'sets.contains([[1], [2, 3]], [[2, 3.0]])',
    '!sets.contains([1], [2])',
    '!sets.contains([1], [1, 2])',
    '!sets.contains([1], ["1", 1])',
    '!sets.contains([1], [1.1, 1u])',
    'sets.equivalent([], [])',
    'sets.equivalent([1], [1])',
    'sets.equivalent([1], [1, 1])',
    'sets.equivalent([1, 1], [1])',
    'sets.equivalent([1], [1u, 1.0])',
    'sets.equivalent([1, 2, 3], [3u, 2.0, 1])',
    'sets.equivalent([[1.0], [2, 3]], [[1], [2, 3.0]])',
    '!sets.equivalent([2, 1], [1])',
    '!sets.equivalent([1], [1, 2])',
    '!sets.equivalent([1, 2], [2u, 2, 2.0])',
    '!sets.equivalent([1, 2], [1u, 2, 2.3])',
    'sets.intersects([1], [1])',
    'sets.intersects([1], [1, 1])',
    'sets.intersects([1, 1], [1])',
    'sets.intersects([2, 1], [1])',
    'sets.intersects([1], [1, 2])',
    'sets.intersects([1], [1.0, 2])',
    'sets.intersects([1, 2], [2u, 2, 2.0])',
    'sets.intersects([1, 2], [1u, 2, 2.3])',
    'sets.intersects([[1], [2, 3]], [[1, 2], [2, 3.0]])',
    '!sets.intersects([], [])',
    '!sets.intersects([1], [])',
    '!sets.intersects([1], [2])',
    '!sets.intersects([1], ["1", 2])',
    '!sets.intersects([1], [1.1, 2u])',
  ] as const;
  for (const c of cases) {
    const [expr, bindings] = typeof c === 'string' ? [c, {}] : c;
    t.equal(run(expr, bindings, false), true, expr);
  }
  t.equal(cases.length, 43, "every case of TestSets");
});

t.test('lists: the examples of lists.go', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['[1, 2, 3].isSorted()', true],
    ["['a', 'b', 'b', 'c'].isSorted()", true],
    ['[2.0, 1.0].isSorted()', false],
    ['[1].isSorted()', true],
    ['[].isSorted()', true],
    ['[1, 3].sum()', 4n],
    ['[1.0, 3.0].sum()', 4],
    ['[].sum()', 0n],
    ['[1, 3].min()', 1n],
    ['[1, 3].max()', 3n],
    ['[1].min()', 1n],
    ['([0] + []).min()', 0n],
    ['[1, 2, 2, 3].indexOf(2)', 1n],
    ["['a', 'b', 'b', 'c'].lastIndexOf('b')", 2n],
    ['[1.0].indexOf(1.1)', -1n],
    ["[].indexOf('string')", -1n],
    // string indexOf (ext strings) still answers on strings
    ["'abcb'.indexOf('b')", 1n],
    ["'abcb'.lastIndexOf('b')", 3n],
  ];
  for (const [expr, want] of cases) t.same(run(expr), want, expr);
  t.match(run('[].min()'), { message: 'min called on empty list' }, '[].min() is an error');
  t.match(run('[1, 2.0].sum()'), { message: /^compilation failed: ERROR: <input>:1:5: expected type 'int' but found 'double'/ }, 'a mixed list literal does not compile in Kubernetes');
  t.match(run('[1, 2.0].sum()', {}, false), { message: "found no matching overload for '_+_' applied to '(int, double)'" }, 'a list of mixed numbers has no sum');
  t.match(run('[1, 2].includes(2)'), { message: /undeclared reference to 'includes'/ }, 'includes is only a name in cost.go, not a function of the library');
});

t.test('regex: the examples of regex.go, with Go RE2 semantics', async (t) => {
  // regex.go's examples use `[0-9]*`, whose leftmost match in "abc 123" is the empty string at 0 in Go (FindString);
  // `[0-9]+` keeps their intent.
  const cases: Array<[string, unknown]> = [
    ["'abc 123'.find('[0-9]+')", '123'],
    ["'abc 123'.find('xyz')", ''],
    ["'123 abc 456'.findAll('[0-9]+')", ['123', '456']],
    ["'123 abc 456'.findAll('[0-9]+', 1)", ['123']],
    ["'123 abc 456'.findAll('xyz')", []],
    ["'abc 123'.find('[0-9]*')", ''],
    ["'123 abc 456'.findAll('[0-9]*')", ['123', '', '', '', '', '456']],
    ["'123 abc 456'.findAll('[0-9]+', 0)", []],
  ];
  for (const [expr, want] of cases) t.same(run(expr), want, expr);
  const bad = run("'x'.find('[')");
  t.ok(isCelError(bad) && /^Illegal regex: /.test((bad as Error).message), `an invalid regex is an error: ${String(bad)}`);
});

t.test('quantity: TestQuantity of quantity_test.go (mul, div and divInt aside: not provided)', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['quantity("12Mi") == quantity("12582912")', true],
    ['isQuantity("20")', true],
    ['isQuantity("20M")', true],
    ['isQuantity("20Mi")', true],
    ['isQuantity("20Mo")', false],
    ['isQuantity("10Mm")', false],
    ['quantity("200M") == quantity("200M")', true],
    ['quantity("200M") == quantity("0.2G") && quantity("0.2G") == quantity("200M")', true],
    ['quantity("2M") == quantity("0.002G") && quantity("2000k") == quantity("2M") && quantity("0.002G") == quantity("2000k")', true],
    ['quantity("200M") == quantity("0.3G")', false],
    ['quantity("50M").isLessThan(quantity("50Mi"))', true],
    ['quantity("50M").isLessThan(quantity("100M"))', true],
    ['quantity("100M").isLessThan(quantity("50M"))', false],
    ['quantity("50Mi").isGreaterThan(quantity("50M"))', true],
    ['quantity("150Mi").isGreaterThan(quantity("100Mi"))', true],
    ['quantity("50M").isGreaterThan(quantity("100M"))', false],
    ['quantity("200M").compareTo(quantity("0.2G"))', 0n],
    ['quantity("50M").compareTo(quantity("50Mi"))', -1n],
    ['quantity("50Mi").compareTo(quantity("50M"))', 1n],
    ['quantity("50k").add(quantity("20")) == quantity("50.02k")', true],
    ['quantity("50k").add(20).isLessThan(quantity("50020"))', false],
    ['quantity("50k").sub(quantity("20")) == quantity("49.98k")', true],
    ['quantity("50k").sub(20) == quantity("49980")', true],
    ['quantity("50k").add(20).sub(quantity("100k")).asInteger()', -49980n],
    ['quantity("50k").add(20).sub(quantity("100k")).sub(-50000).asInteger()', 20n],
    ['quantity("50k").asInteger()', 50000n],
    ['quantity("9999999999999999999999999999999999999G").isInteger()', false],
    ['quantity("50").isInteger()', true],
    ['quantity("50.703k").asApproximateFloat()', 50703],
    // the examples of quantity.go
    ['isQuantity("1.3G") && isQuantity("1.3Gi") && isQuantity("10000k")', true],
    ['isQuantity("1,3G") || isQuantity("200K") || isQuantity("Three") || isQuantity("Mi")', false],
    ['quantity("50000000G").isInteger()', true],
    ['quantity("50k").sub(20000).asApproximateFloat() == 30000.0', true],
    ['sign(quantity("-1m")) == -1 && sign(quantity("0")) == 0 && sign(quantity("5Gi")) == 1', true],
    ['type(quantity("1")) == type(quantity("2Gi"))', true],
  ];
  for (const [expr, want] of cases) t.same(run(expr), want, expr);
  t.match(run('quantity("10Mo")'), { message: /^quantities must match the regular expression/ }, 'parseInvalidSuffix');
  t.match(run('quantity("10Mm")'), { message: "unable to parse quantity's suffix" }, 'parseInvalidSuffixPassesRegex');
  t.match(run('quantity("9999999999999999999999999999999999999G").asInteger()'), { message: 'cannot convert value to integer' }, 'as_integer_error');
  t.match(run('quantity("50k").mul(2)'), { message: /undeclared reference to 'mul'/ }, 'mul is not provided: a compile error');
});

t.test('ip and cidr: TestIP of ip_test.go and TestCIDR of cidr_test.go', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['ip("192.168.0.1") == ip("192.168.0.1")', true],
    ['isIP("192.168.0.1")', true],
    ['isIP("192.168.0.1.0")', false],
    ['ip.isCanonical("127.0.0.1")', true],
    ['ip("192.168.0.1").family()', 4n],
    ['ip("0.0.0.0").isUnspecified()', true],
    ['ip("127.0.0.1").isUnspecified()', false],
    ['ip("127.0.0.1").isLoopback()', true],
    ['ip("1.2.3.4").isLoopback()', false],
    ['ip("224.0.0.1").isLinkLocalMulticast()', true],
    ['ip("224.0.1.1").isLinkLocalMulticast()', false],
    ['ip("169.254.169.254").isLinkLocalUnicast()', true],
    ['ip("192.168.0.1").isLinkLocalUnicast()', false],
    ['ip("192.168.0.1").isGlobalUnicast()', true],
    ['ip("255.255.255.255").isGlobalUnicast()', false],
    ['ip("2001:db8::68") == ip("2001:db8::68")', true],
    ['isIP("2001:db8::68")', true],
    ['isIP("2001:db8:::68")', false],
    ['ip.isCanonical("2001:db8::68")', true],
    ['ip.isCanonical("2001:DB8::68")', false],
    ['ip("2001:db8::68").family()', 6n],
    ['ip("::").isUnspecified()', true],
    ['ip("::1").isUnspecified()', false],
    ['ip("::1").isLoopback()', true],
    ['ip("2001:db8::abcd").isLoopback()', false],
    ['ip("ff02::1").isLinkLocalMulticast()', true],
    ['ip("fd00::1").isLinkLocalMulticast()', false],
    ['ip("fe80::1").isLinkLocalUnicast()', true],
    ['ip("fd80::1").isLinkLocalUnicast()', false],
    ['ip("2001:db8::abcd").isGlobalUnicast()', true],
    ['ip("ff00::1").isGlobalUnicast()', false],
    ['string(ip("192.168.0.1"))', '192.168.0.1'],
    ['type(ip("192.168.0.1")) == net.IP', true],
    ['cidr(dyn("192.168.0.0/24")) == cidr("192.168.0.0/24")', true],
    ['cidr("192.168.0.0/24").containsIP(ip("192.168.0.1"))', true],
    ['cidr("192.168.0.0/24").containsIP(ip("192.168.1.1"))', false],
    ['cidr("192.168.0.0/24").containsIP("192.168.0.1")', true],
    ['cidr("192.168.0.0/24").containsIP("192.168.1.1")', false],
    ['cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.0/25"))', true],
    ['cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.0/23"))', false],
    ['cidr("192.168.0.0/24").containsCIDR("192.168.0.0/25")', true],
    ['cidr("192.168.0.0/24").containsCIDR("192.168.0.0/23")', false],
    ['cidr("192.168.0.0/24").ip() == ip("192.168.0.0")', true],
    ['cidr("192.168.0.0/24").masked() == cidr("192.168.0.0/24")', true],
    ['cidr("192.168.0.1/24").masked() == cidr("192.168.0.0/24")', true],
    ['cidr("192.168.0.0/24").prefixLength()', 24n],
    ['cidr("2001:db8::/32") == cidr("2001:db8::/32")', true],
    ['cidr("2001:db8::/32").containsIP(ip("2001:db8::1"))', true],
    ['cidr("2001:db8::/32").containsIP(ip("2001:dc8::1"))', false],
    ['cidr("2001:db8::/32").containsIP("2001:db8::1")', true],
    ['cidr("2001:db8::/32").containsIP("2001:dc8::1")', false],
    ['cidr("2001:db8::/32").containsCIDR(cidr("2001:db8::/33"))', true],
    ['cidr("2001:db8::/32").containsCIDR(cidr("2001:db8::/31"))', false],
    ['cidr("2001:db8::/32").containsCIDR("2001:db8::/33")', true],
    ['cidr("2001:db8::/32").containsCIDR("2001:db8::/31")', false],
    ['cidr("2001:db8::/32").ip() == ip("2001:db8::")', true],
    ['cidr("2001:db8::/32").masked() == cidr("2001:db8::/32")', true],
    ['cidr("2001:db8:1::/32").masked() == cidr("2001:db8::/32")', true],
    ['cidr("2001:db8::/32").prefixLength()', 32n],
    ['string(cidr("192.168.0.0/24"))', '192.168.0.0/24'],
    ['type(cidr("192.168.0.0/24")) == net.CIDR', true],
    ['ip("192.168.0.1") == ip("192.168.0.2")', false],
  ];
  for (const [expr, want] of cases) t.same(run(expr), want, expr);
  // Go's netip words the reason after ParseAddr(...) itself; ours is generic (README).
  t.match(run('ip("192.168.0.1.0")'), { message: /^IP Address "192\.168\.0\.1\.0" parse error during conversion from string: ParseAddr\("192\.168\.0\.1\.0"\): / });
  t.match(run('ip("fe80::1%eth0")'), { message: /with zone value is not allowed/ });
  t.match(run('ip("::ffff:1.2.3.4")'), { message: /IPv4-mapped IPv6 address "::ffff:1\.2\.3\.4" is not allowed/ });
  for (const bad of ['192.168.0.0/', '2001:db8::/']) {
    t.match(run(`cidr("${bad}")`), {
      message: `network address parse error during conversion from string: network address parse error during conversion from string: netip.ParsePrefix("${bad}"): bad bits after slash: ""`,
    });
  }
});

t.test('semver: TestSemver of semver_test.go', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['semver("1.2.3") == semver("1.2.3")', true],
    ['isSemver("1.2.3-beta.1+build.1")', true],
    ['isSemver("")', false],
    ['isSemver("v1.0.0")', false],
    ['isSemver(" 1.0.0")', false],
    ['isSemver("1. 0.0")', false],
    ['isSemver("1.0.0 ")', false],
    ['isSemver("01.01.01")', false],
    ['isSemver("1")', false],
    ['isSemver("1.1")', false],
    ['isSemver("", true)', false],
    ['isSemver(" 1.0.0", true)', false],
    ['isSemver("1. 0.0", true)', false],
    ['isSemver("1.0.0 ", true)', false],
    ['isSemver("v1.0.0", true)', true],
    ['isSemver("01.01.01", true)', true],
    ['isSemver("1", true)', true],
    ['isSemver("1.1", true)', true],
    ['semver("v01.01", true) == semver("1.1.0")', true],
    ['semver("1.2.3") == semver("1.0.0")', false],
    ['semver("1.0.0").isLessThan(semver("1.2.3"))', true],
    ['semver("1.0.0").isLessThan(semver("1.0.0"))', false],
    ['semver("1.2.3").isGreaterThan(semver("1.0.0"))', true],
    ['semver("1.0.0").isGreaterThan(semver("1.0.0"))', false],
    ['semver("1.2.3").compareTo(semver("1.2.3"))', 0n],
    ['semver("1.0.0").compareTo(semver("1.2.3"))', -1n],
    ['semver("1.2.3").compareTo(semver("1.0.0"))', 1n],
    ['semver("1.2.3").major()', 1n],
    ['semver("1.2.3").minor()', 2n],
    ['semver("1.2.3").patch()', 3n],
    // precedence and equality ignore build metadata; a pre-release sorts first
    ['semver("1.0.0+a") == semver("1.0.0+b") && semver("1.0.0-rc.1").isLessThan(semver("1.0.0"))', true],
    // quantity's methods of the same names still answer on quantities
    ['quantity("1").isLessThan(quantity("2")) && semver("1.0.0").isLessThan(semver("2.0.0"))', true],
  ];
  for (const [expr, want] of cases) t.same(run(expr), want, expr);
  t.match(run('semver("v1.0")'), { message: 'No Major.Minor.Patch elements found' }, 'parseInvalidVersion');
});

t.test('url: the examples of urls.go', async (t) => {
  const cases: Array<[string, unknown]> = [
    ["isURL('https://user:pass@example.com:80/path?query=val#fragment')", true],
    ["isURL('/absolute-path')", true],
    ["isURL('https://a:b:c/')", false],
    ["isURL('../relative-path')", false],
    ["url('/path').getScheme()", ''],
    ["url('https://example.com/').getScheme()", 'https'],
    ["url('https://example.com:80/').getHost()", 'example.com:80'],
    ["url('https://example.com/').getHost()", 'example.com'],
    ["url('https://[::1]:80/').getHost()", '[::1]:80'],
    ["url('https://[::1]/').getHost()", '[::1]'],
    ["url('/path').getHost()", ''],
    ["url('https://example.com:80/').getHostname()", 'example.com'],
    ["url('https://127.0.0.1:80/').getHostname()", '127.0.0.1'],
    ["url('https://[::1]:80/').getHostname()", '::1'],
    ["url('/path').getHostname()", ''],
    ["url('https://example.com:80/').getPort()", '80'],
    ["url('https://example.com/').getPort()", ''],
    ["url('/path').getPort()", ''],
    ["url('https://example.com/path').getEscapedPath()", '/path'],
    ["url('https://example.com/path with spaces/').getEscapedPath()", '/path%20with%20spaces/'],
    ["url('https://example.com').getEscapedPath()", ''],
    ["url('https://example.com/path?k1=a&k2=b&k2=c').getQuery() == {'k1': ['a'], 'k2': ['b', 'c']}", true],
    ["url('https://example.com/path?key with spaces=value with spaces').getQuery() == {'key with spaces': ['value with spaces']}", true],
    ["url('https://example.com/path?').getQuery() == {}", true],
    ["url('https://example.com/path').getQuery() == {}", true],
    ["url('https://example.com/a') == url('https://example.com/a') && url('https://example.com/a') != url('https://example.com/b')", true],
  ];
  for (const [expr, want] of cases) t.same(run(expr), want, expr);
  t.match(run("url('https://a:b:c/')"), { message: 'URL parse error during conversion from string: parse "https://a:b:c/": invalid port ":b:c" after host' });
  t.match(run("url('../relative-path')"), { message: 'URL parse error during conversion from string: parse "../relative-path": invalid URI for request' });
});

