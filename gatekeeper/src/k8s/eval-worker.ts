// One evaluation worker of `gatekeeper run --eval-workers`: its own PolicyEngine, built from the snapshot it starts
// with and kept in step by the changes PolicyMirror broadcasts, answering reviews (the webhook's worker protocol).
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { PolicyEngine, type ReviewOptions } from '../policy/engine.js';
import type { FromWorker, ToWorker } from '../webhook/eval-worker.js';
import type { ClusterEvalWorkerData, PolicyOp, PolicyOpMessage } from './policy-mirror.js';

const data = workerData as ClusterEvalWorkerData;
const port = parentPort!;
const logger = pino({ level: data.logLevel, base: { component: 'webhook', worker: data.index } }, pino.destination(2));
const post = (m: FromWorker) => port.postMessage(m);

async function apply(engine: PolicyEngine, change: PolicyOp): Promise<void> {
  try {
    switch (change.op) {
      case 'upsertTemplate':
        await engine.upsertTemplate(change.obj);
        break;
      case 'removeTemplate':
        engine.removeTemplate(change.kind);
        break;
      case 'upsertConstraint':
        engine.upsertConstraint(change.obj);
        break;
      case 'removeConstraint':
        engine.removeConstraint(change.kind, change.name);
        break;
      case 'addInventory':
        engine.addInventory(change.obj);
        break;
      case 'removeInventory':
        engine.removeInventory(change.obj);
        break;
    }
  } catch (e) {
    // The main thread applied the same change first and reported the problem.
    logger.debug({ change: change.op, err: (e as Error).message }, 'change not applied');
  }
}

let engine: PolicyEngine | undefined;
// Changes are applied one at a time, in the order sent, after the snapshot.
const loaded = PolicyEngine.create({ ...data.engine, logger }).then(async (e) => {
  for (const change of data.snapshot) await apply(e, change);
  engine = e;
});
let applied: Promise<unknown> = loaded;

port.on('message', (m: ToWorker | PolicyOpMessage) => {
  if (m.type === 'policy') {
    applied = applied.then(() => apply(engine!, m.change)).catch(() => undefined);
    return;
  }
  if (m.type === 'close') {
    void applied.finally(() => process.exit(0));
    return;
  }
  // Reviews come only after 'ready'.
  try {
    const opts: ReviewOptions = { enforcementPoint: m.enforcementPoint };
    if (m.deadlineMs !== undefined) opts.deadlineMs = m.deadlineMs;
    if (m.namespace !== undefined) opts.namespace = m.namespace;
    post({ type: 'result', id: m.id, result: engine!.reviewSync(m.req, opts) });
  } catch (e) {
    post({ type: 'error', id: m.id, name: (e as Error).name, message: (e as Error).message });
  }
});

loaded.then(
  () => {
    const state = {
      templates: engine!.listTemplates().map((t) => ({ kind: t.kind, errors: t.errors })),
      constraints: engine!.listConstraints().map((c) => ({ kind: c.kind, name: c.name, enforcementAction: c.enforcementAction })),
    };
    post({ type: 'ready', state });
  },
  (e) => post({ type: 'fatal', message: (e as Error).message }),
);
