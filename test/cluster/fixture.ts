// What the chart scenarios share: one real cluster (test/peers/cluster.ts) with the chart's two images imported, a
// Kafka broker inside the cluster's namespace (pods reach it on the node address, the host through the relay), local
// volumes for the webhook's queue claims, and helpers to install the chart and read what reached Kafka.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { helm, chartDir, type HelmResult } from '../chart/helm.js';
import { repoRoot } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/process.js';
import { startCluster, type RealCluster } from '../peers/cluster.js';
import { kcatReadAll, startKafka, type KafkaBroker } from '../peers/kafka.js';
import { buildImages, type BuiltImage } from '../images/image.js';

export const RELEASE = 'gk';
export const NAMESPACE = 'gk-system';
export const KAFKA_POD_PORT = 9092;
export const STORAGE_CLASS = 'gk-local';

export interface ChartImages {
  gatekeeper: string;
  exporter: string;
}

export interface ChartCluster {
  cluster: RealCluster;
  kafka: KafkaBroker;
  /** host:port of the broker as pods reach it. */
  kafkaForPods: string;
  images: ChartImages;
  timings: Record<string, number>;
  helm(args: string[], timeoutMs?: number): Promise<HelmResult>;
  helmOk(args: string[], timeoutMs?: number): Promise<string>;
  /** Stops Kafka and the cluster; resolves with the cluster's teardown phases (ms). */
  stop(): Promise<Record<string, number>>;
}

export async function startChartCluster(opts: { volumes?: number } = {}): Promise<ChartCluster> {
  const timings: Record<string, number> = {};
  let t = Date.now();
  const built = await buildImages();
  const ref = (name: BuiltImage['name']) => {
    const image = built.find((b) => b.name === name);
    if (!image) throw new Error(`scripts/images/build.mjs built no ${name} image`);
    return image.ref;
  };
  const refs: ChartImages = { gatekeeper: ref('gatekeeper'), exporter: ref('exporter') };
  const tarballs = built.map((b) => b.tarball);
  timings.imagesMs = Date.now() - t;
  const cluster = await startCluster();
  timings.clusterStartMs = cluster.startMs;
  let kafka: KafkaBroker | undefined;
  try {
    t = Date.now();
    for (const tarball of tarballs) await cluster.importImage(tarball);
    timings.importMs = Date.now() - t;

    t = Date.now();
    const port = await freePort();
    await cluster.forward(`127.0.0.1:${port}`, port);
    kafka = await startKafka({
      port,
      extraListeners: { PODS: `${cluster.nodeIp}:${KAFKA_POD_PORT}` },
      wrap: (cmd, args) => cluster.wrap(cmd, args),
    });
    timings.kafkaStartMs = Date.now() - t;

    await createLocalVolumes(cluster, opts.volumes ?? 4);
    const helmIn = (args: string[], timeoutMs = 600_000) => helm(['--kubeconfig', cluster.kubeconfig, ...args], { timeoutMs });
    const broker = kafka;
    return {
      cluster,
      kafka: broker,
      kafkaForPods: `${cluster.nodeIp}:${KAFKA_POD_PORT}`,
      images: refs,
      timings,
      helm: helmIn,
      async helmOk(args, timeoutMs) {
        const r = await helmIn(args, timeoutMs);
        if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
        return r.stdout;
      },
      async stop() {
        // Its log is thrown away: no need for Kafka's slow clean shutdown.
        await broker.kill().catch(() => undefined);
        await broker.stop().catch(() => undefined);
        return (await cluster.stop()).phases;
      },
    };
  } catch (e) {
    await kafka?.stop().catch(() => undefined);
    await cluster.stop().catch(() => undefined);
    throw e;
  }
}

/**
 * There is no volume provisioner: a StorageClass without one and hostPath PersistentVolumes (in the namespace's own
 * /var/lib tmpfs, owned by the images' user) for the webhook replicas' queue claims to bind to.
 */
async function createLocalVolumes(cluster: RealCluster, count: number): Promise<void> {
  const dirs = Array.from({ length: count }, (_, i) => `/var/lib/gk-volumes/pv-${i}`);
  await cluster.sh(`set -e; for d in ${dirs.join(' ')}; do mkdir -p $d; chown 65532:65532 $d; chmod 0700 $d; done`);
  const docs = [
    `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: ${STORAGE_CLASS}}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain`,
    ...dirs.map(
      (d, i) => `apiVersion: v1
kind: PersistentVolume
metadata: {name: gk-pv-${i}}
spec:
  storageClassName: ${STORAGE_CLASS}
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: ${d}, type: Directory}`,
    ),
  ];
  await cluster.kubectlOk(['apply', '-f', '-'], { input: docs.join('\n---\n') });
}

export interface DecisionRecord {
  decisionId: string;
  eventType: string;
  [k: string]: any;
}

/** Every record in the topic (read from the beginning by kcat through the relay). */
export async function readDecisions(kafka: KafkaBroker, topic: string): Promise<DecisionRecord[]> {
  const messages = await kcatReadAll(kafka.broker, topic).catch((e: Error) => {
    if (/Unknown topic|UNKNOWN_TOPIC/i.test(e.message)) return [];
    throw e;
  });
  return messages.map((m) => JSON.parse(m.value) as DecisionRecord);
}

/** Waits until `pick` of the topic's records (distinct decisionIds) reaches `count`; returns them. */
export async function waitForDecisions(
  kafka: KafkaBroker,
  topic: string,
  label: string,
  pick: (r: DecisionRecord) => boolean,
  count: number,
  timeoutMs = 240_000,
): Promise<DecisionRecord[]> {
  let found: DecisionRecord[] = [];
  await waitFor(
    `${count} ${label} in Kafka`,
    async () => {
      const byId = new Map<string, DecisionRecord>();
      for (const r of await readDecisions(kafka, topic)) if (pick(r)) byId.set(r.decisionId, r);
      found = [...byId.values()];
      return found.length >= count;
    },
    timeoutMs,
    1000,
  ).catch((e: Error) => {
    throw new Error(`${e.message} (found ${found.length})`);
  });
  return found;
}

export const policyDir = path.join(repoRoot, 'examples/policies');
export const requiredLabelsTemplate = readFileSync(path.join(policyDir, 'template-required-labels.yaml'), 'utf8');
export { chartDir };
