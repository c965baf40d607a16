// The audit's paged list against a real kube-apiserver whose etcd is compacted every second (and no watch cache, so
// pages are read from etcd): a list outliving its snapshot gets 410 Gone on its continue token; it must go on from the
// next object — every object once, none skipped — instead of dropping the rest of the kind.
import t from 'tap';
import { KubeClient } from '../../gatekeeper/src/k8s/client.js';
import { listPages } from '../../gatekeeper/src/k8s/list-pages.js';
import { waitFor } from '../helpers/process.js';
import { startKube, type KubeCluster } from '../peers/kube.js';

let kube: KubeCluster;
let client: KubeClient;
const NS = 'expiry';
const TOTAL = 40;
const listPath = `/api/v1/namespaces/${NS}/configmaps`;

t.before(async () => {
  kube = await startKube({ apiserverArgs: ['--etcd-compaction-interval=1s', '--watch-cache=false'] });
  client = await KubeClient.load({ kubeconfig: kube.kubeconfig });
  await kube.kubectlOk(['create', 'namespace', NS]);
  await kube.kubectlOk(['create', 'namespace', 'churn']);
  const items = Array.from({ length: TOTAL }, (_, i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${String(i).padStart(2, '0')}`, namespace: NS } }));
  await kube.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) });
});
t.teardown(async () => {
  await client?.close();
  await kube?.stop();
});

/** Writes elsewhere (etcd's revision moves on) until a continue token taken now is refused with 410 by the API server. */
async function expireSnapshotsUpToNow(): Promise<void> {
  const first = await kube.api('GET', `${listPath}?limit=5`);
  const token = first.body.metadata.continue as string;
  let n = 0;
  await waitFor(
    'a continue token refused with 410 (compaction)',
    async () => {
      await kube.api('POST', '/api/v1/namespaces/churn/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: `s-${n++}` } });
      return (await kube.api('GET', `${listPath}?limit=5&continue=${encodeURIComponent(token)}`)).status === 410;
    },
    60_000,
    300,
  );
}

t.test('a list whose continue token expired goes on from the next object: all 40, each once', async (t) => {
  const expired: string[] = [];
  const pages = listPages(client, listPath, { limit: 5, timeoutMs: 30_000, onExpired: (how) => expired.push(how) });
  const names: string[] = [];
  for (let i = 0; i < 2; i++) {
    const page = await pages.next();
    t.notOk(page.done);
    names.push(...(page.value as Array<{ metadata: { name: string } }>).map((o) => o.metadata.name));
  }
  // The list's snapshot is older than this: once this token is refused, every later page of the list is too.
  await expireSnapshotsUpToNow();
  for await (const items of pages) names.push(...items.map((o) => o.metadata.name));
  t.ok(expired.length >= 1, `the API server answered 410 on the list's own token (${expired.join(', ')})`);
  t.same([...new Set(expired)], ['resumed'], "recovered with the server's token, not by starting over");
  t.equal(names.length, TOTAL, 'no object twice');
  t.same([...names].sort(), Array.from({ length: TOTAL }, (_, i) => `cm-${String(i).padStart(2, '0')}`), 'none skipped');
});

t.test('another error still ends the list with that error', async (t) => {
  const pages = listPages(client, '/api/v1/namespaces/expiry/nosuchresources', { limit: 5, timeoutMs: 30_000 });
  await t.rejects(pages.next(), /404/);
});
