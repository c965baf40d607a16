// One evaluation worker of EvalPool: its own PolicyEngine kept in step with the policy folder, answering reviews.
import { parentPort, workerData } from 'node:worker_threads';
import pino from 'pino';
import { PolicyEngine, type EngineOptions, type ReviewOptions, type ReviewRequest } from '../policy/engine.js';
import { PolicyFolder } from './policy-folder.js';

export interface EvalWorkerData {
  index: number;
  paths: string[];
  pollIntervalMs: number;
  /** PolicyEngine.create options but the logger (each worker makes its own). */
  engine: Omit<EngineOptions, 'logger'>;
  logLevel: string;
}

export type ToWorker =
  | { type: 'review'; id: number; req: ReviewRequest; enforcementPoint: string; deadlineMs?: number; namespace?: ReviewOptions['namespace'] }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; state: unknown }
  | { type: 'state'; state: unknown }
  | { type: 'ingested'; status: 'active' | 'error'; seconds: number }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; name: string; message: string }
  | { type: 'fatal'; message: string };

const data = workerData as EvalWorkerData;
const port = parentPort!;
const logger = pino({ level: data.logLevel, base: { component: 'webhook', worker: data.index } }, pino.destination(2));
const post = (m: FromWorker) => port.postMessage(m);

async function main(): Promise<void> {
  const engine = await PolicyEngine.create({ ...data.engine, logger });
  let ready = false;
  const folder = new PolicyFolder({
    paths: data.paths,
    engine,
    // Only the first worker logs policy problems and counts template ingestions: the others see the same files.
    logger: data.index === 0 ? logger : pino({ level: 'silent' }),
    pollIntervalMs: data.pollIntervalMs,
    onChange: (state) => {
      if (ready) post({ type: 'state', state });
    },
  });
  if (data.index === 0) folder.onTemplateIngested = (status, seconds) => post({ type: 'ingested', status, seconds });
  port.on('message', (m: ToWorker) => {
    if (m.type === 'close') {
      void folder.close().then(() => process.exit(0));
      return;
    }
    try {
      const opts: ReviewOptions = { enforcementPoint: m.enforcementPoint };
      if (m.deadlineMs !== undefined) opts.deadlineMs = m.deadlineMs;
      if (m.namespace !== undefined) opts.namespace = m.namespace;
      post({ type: 'result', id: m.id, result: engine.reviewSync(m.req, opts) });
    } catch (e) {
      post({ type: 'error', id: m.id, name: (e as Error).name, message: (e as Error).message });
    }
  });
  const state = await folder.load();
  folder.watch();
  ready = true;
  post({ type: 'ready', state });
}

main().catch((e) => post({ type: 'fatal', message: (e as Error).message }));
