// cel-go's extensions Kubernetes' base environment enables beyond sets: two-variable comprehensions (1.32) and ext
// lists v3 (1.34), against cel-go's own cases (ext/comprehensions_test.go TestTwoVarComprehensions, ext/lists_test.go
// TestLists), those without cel.bind, optionals or proto messages.
import t from 'tap';
import { run } from './run-expression.js';

t.test('two-variable comprehensions: cel-go TestTwoVarComprehensions (cases without cel.bind, optionals or lists v3)', async (t) => {
  const cases = [
    '[1, 2, 3, 4].all(i, v, i < 5 && v > 0)',
    '[1, 2, 3, 4].all(i, v, i < v)',
    '[1, 2, 3, 4].all(i, v, i > v) == false',
    `['Hello', 'world'].transformList(i, v, "[%d]%s".format([i, v.lowerAscii()])) == ["[0]hello", "[1]world"]`,
    `['hello', 'world'].transformList(i, v, v.startsWith('greeting'), "[%d]%s".format([i, v])) == []`,
    '[1, 2, 3].transformList(indexVar, valueVar, (indexVar * valueVar) + valueVar) == [1, 4, 9]',
    '[1, 2, 3].transformList(indexVar, valueVar, indexVar % 2 == 0, (indexVar * valueVar) + valueVar) == [1, 9]',
    `['Hello', 'world'].transformMap(i, v, [v.lowerAscii()]) == {0: ['hello'], 1: ['world']}`,
    '[1, 2, 3].transformMap(indexVar, valueVar, (indexVar * valueVar) + valueVar) == {0: 1, 1: 4, 2: 9}',
    '[1, 2, 3].transformMap(indexVar, valueVar, indexVar % 2 == 0, (indexVar * valueVar) + valueVar) == {0: 1, 2: 9}',
    `"key1:value1 key2:value2 key3:value3".split(" ").transformMapEntry(i, v, v.split(":").size() == 2 ? {v.split(":")[0]: v.split(":")[1]} : {}) == {'key1': 'value1', 'key2': 'value2', 'key3': 'value3'}`,
    `{'hello': 'world', 'hello!': 'world'}.all(k, v, k.startsWith('hello') && v == 'world')`,
    `{'hello': 'world', 'hello!': 'worlds'}.all(k, v, k.startsWith('hello') && v.endsWith('world')) == false`,
    `{'hello': 'world', 'hello!': 'worlds'}.exists(k, v, k.startsWith('hello') && v.endsWith('world'))`,
    `{'hello': 'world', 'hello!': 'worlds'}.existsOne(k, v, k.startsWith('hello') && v.endsWith('world'))`,
    `{'hello': 'world', 'hello!': 'worlds'}.exists_one(k, v, k.startsWith('hello') && v.endsWith('world'))`,
    `{'hello': 'world', 'hello!': 'wow, world'}.exists_one(k, v, k.startsWith('hello') && v.endsWith('world')) == false`,
    `{'Hello': 'world'}.transformList(k, v, "%s=%s".format([k.lowerAscii(), v])) == ["hello=world"]`,
    `dyn({'Hello': 'world'}).transformList(k, v, "%s=%s".format([k.lowerAscii(), v])) == ["hello=world"]`,
    `{'hello': 'world'}.transformList(k, v, k.startsWith('greeting'), "%s=%s".format([k, v])) == []`,
    `{'hello': 'world', 'goodbye': 'cruel world'}.transformMap(k, v, "%s, %s!".format([k, v])) == {'hello': 'hello, world!', 'goodbye': 'goodbye, cruel world!'}`,
    `dyn({'hello': 'world', 'goodbye': 'cruel world'}).transformMap(k, v, "%s, %s!".format([k, v])) == {'hello': 'hello, world!', 'goodbye': 'goodbye, cruel world!'}`,
    `{'hello': 'world', 'goodbye': 'cruel world'}.transformMap(k, v, v.startsWith('world'), "%s, %s!".format([k, v])) == {'hello': 'hello, world!'}`,
    `{'hello': 'world', 'greetings': 'tacocat'}.transformMapEntry(k, v, {}) == {}`,
    // shadowing: the inner comprehension's own variables win
    '[1, 2].all(i, v, [10, 20].all(i, v, v >= 10))',
    '[[1, 2], [3]].transformList(i, v, v.transformList(i, w, i)) == [[0, 1], [0]]',
  ];
  for (const expr of cases) t.equal(run(expr), true, expr);
  t.match(run(`{'greeting': 'aloha', 'farewell': 'aloha'}.transformMapEntry(k, v, {v: k})`), { message: 'insert failed: key aloha already exists' }, 'duplicate key');
  t.match(run('[1, 2].all(i, i, true)'), { message: /^compilation failed: ERROR: <input>:1:15: duplicate variable name: i/ });
  t.match(run('[1, 2].all(i, 1, true)'), { message: /^compilation failed: ERROR: <input>:1:15: argument must be a simple name/ });
  t.match(run('[1, 2].all(i, v, v == "a")'), { message: /found no matching overload for '_==_' applied to '\(int, string\)'/ }, 'the value variable is typed from the range');
});

t.test('ext lists v3: cel-go TestLists (ExampleType and optional cases aside)', async (t) => {
  const cases = [
    'lists.range(4) == [0,1,2,3]',
    'lists.range(0) == []',
    '[5,1,2,3].reverse() == [3,2,1,5]',
    '[].reverse() == []',
    '[1].reverse() == [1]',
    "['are', 'you', 'as', 'bored', 'as', 'I', 'am'].reverse() == ['am', 'I', 'as', 'bored', 'as', 'you', 'are']",
    '[false, true, true].reverse().reverse() == [false, true, true]',
    '[1,2,3,4].slice(0, 4) == [1,2,3,4]',
    '[1,2,3,4].slice(0, 0) == []',
    '[1,2,3,4].slice(1, 1) == []',
    '[1,2,3,4].slice(4, 4) == []',
    '[1,2,3,4].slice(1, 3) == [2, 3]',
    'dyn([]).flatten() == []',
    'dyn([1,2,3,4]).flatten() == [1,2,3,4]',
    '[1,[2,[3,4]]].flatten() == [1,2,[3,4]]',
    '[1,2,[],[],[3,4]].flatten() == [1,2,3,4]',
    '[1,[2,[3,4]]].flatten(2) == [1,2,3,4]',
    '[].sort() == []',
    '[1].sort() == [1]',
    '[4, 3, 2, 1].sort() == [1, 2, 3, 4]',
    '["d", "a", "b", "c"].sort() == ["a", "b", "c", "d"]',
    '[].sortBy(e, e) == []',
    '["a"].sortBy(e, e) == ["a"]',
    '[-3, 1, -5, -2, 4].sortBy(e, -(e * e)) == [-5, 4, -3, -2, 1]',
    '[-3, 1, -5, -2, 4].map(e, e * 2).sortBy(e, -(e * e)) == [-10, 8, -6, -4, 2]',
    'lists.range(3).sortBy(e, -e) == [2, 1, 0]',
    '["a", "c", "b", "first"].sortBy(e, e == "first" ? "" : e) == ["first", "a", "b", "c"]',
    '[].distinct() == []',
    '[1].distinct() == [1]',
    '[-2, 5, -2, 1, 1, 5, -2, 1].distinct() == [-2, 5, 1]',
    "['c', 'a', 'a', 'b', 'a', 'b', 'c', 'c'].distinct() == ['c', 'a', 'b']",
    '[1, 2.0, "c", 3, "c", 1].distinct() == [1, 2.0, "c", 3]',
    '[1, 1.0, 2].distinct() == [1, 2]',
    '[[1], [1], [2]].distinct() == [[1], [2]]',
  ];
  // cel-go's test environment has no homogeneous-literal validator (mixed lists above)
  for (const expr of cases) t.equal(run(expr, {}, false), true, expr);
  const errors: Array<[string, string]> = [
    ['[1,2,3,4].slice(3, 0)', 'cannot slice(3, 0), start index must be less than or equal to end index'],
    ['[1,2,3,4].slice(0, 10)', 'cannot slice(0, 10), list is length 4'],
    ['[1,2,3,4].slice(-5, 10)', 'cannot slice(-5, 10), negative indexes not supported'],
    ['[1,2,3,4].slice(-5, -3)', 'cannot slice(-5, -3), negative indexes not supported'],
    ['[1,[2,[3,[4]]]].flatten(-1) == [1,2,3,4]', 'level must be non-negative'],
    ['["d", 3, 2, "c"].sort() == ["a", "b", "c", "d"]', 'list elements must have the same type'],
  ];
  for (const [expr, message] of errors) t.match(run(expr, {}, false), { message }, expr);
  t.match(run('"abc".reverse()'), { message: /found no matching overload for 'reverse' applied to 'string.\(\)'/ }, 'reverse is for lists (ext strings v2 has none)');
});
