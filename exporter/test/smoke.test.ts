import t from 'tap';
t.test('tap runs TypeScript', async (t) => {
  const n: number = 1 + 1;
  t.equal(n, 2);
});
