// Evaluation on worker threads, so the webhook uses more than one core: each worker holds its own engine and follows
// the policy folder itself; the main thread keeps HTTP, parsing, metrics and export. A request goes to the worker with
// the fewest reviews in flight. The deadline is enforced here too: a worker stuck in one long constraint cannot hold a
// request past it.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { ReviewOptions, ReviewRequest, ReviewResult } from '../policy/engine.js';
import type { PolicyState } from './policy-folder.js';
import { EvaluationDeadlineError, type Reviewer } from './validate.js';
import type { EvalWorkerData, FromWorker, ToWorker } from './eval-worker.js';

interface Pending {
  /** The caller got its deadline error; the worker is still busy with it until it answers. */
  abandoned?: boolean;
  resolve: (r: ReviewResult) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
  slot: Slot;
}
interface Slot {
  worker: Worker;
  inFlight: number;
  ready: boolean;
}

export class EvalPoolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvalPoolError';
  }
}

/** What each worker runs: a script speaking the ToWorker/FromWorker protocol, and its workerData (made at each (re)start). */
export interface WorkerSpec {
  script: URL;
  data: (index: number) => unknown;
}

export class EvalPool implements Reviewer {
  private readonly slots: Slot[] = [];
  /** Every worker, ready or still starting (broadcast reaches both). */
  private readonly workers = new Set<Worker>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closing = false;

  private constructor(
    private readonly logger: Logger,
    private readonly onState: (s: PolicyState) => void,
    private readonly onIngested: (status: 'active' | 'error', seconds: number) => void,
    private readonly spec: WorkerSpec,
  ) {}

  /** Starts the first worker (it compiles what the cache lacks), then the others (they find the cache warm). */
  static async start(
    count: number,
    data: Omit<EvalWorkerData, 'index'>,
    logger: Logger,
    hooks: { onState: (s: PolicyState) => void; onIngested: (status: 'active' | 'error', seconds: number) => void },
  ): Promise<{ pool: EvalPool; state: PolicyState }> {
    return EvalPool.startWorkers(count, { script: new URL('./eval-worker.js', import.meta.url), data: (index) => ({ ...data, index }) }, logger, hooks);
  }

  /** Starts workers running another script (e.g. policies pushed by the Kubernetes controllers instead of read from files). */
  static async startWorkers(
    count: number,
    spec: WorkerSpec,
    logger: Logger,
    hooks: { onState: (s: PolicyState) => void; onIngested: (status: 'active' | 'error', seconds: number) => void },
  ): Promise<{ pool: EvalPool; state: PolicyState }> {
    const pool = new EvalPool(logger, hooks.onState, hooks.onIngested, spec);
    const state = await pool.spawn(0);
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => pool.spawn(i + 1)));
    return { pool, state };
  }

  get size(): number {
    return this.slots.length;
  }

  /** Posts a message to every worker, started or starting, in order with the messages posted before. */
  broadcast(message: unknown): void {
    for (const w of this.workers) w.postMessage(message);
  }

  private spawn(index: number): Promise<PolicyState> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(this.spec.script, { workerData: this.spec.data(index) });
      this.workers.add(worker);
      const slot: Slot = { worker, inFlight: 0, ready: false };
      worker.on('message', (m: FromWorker) => {
        switch (m.type) {
          case 'ready':
            slot.ready = true;
            this.slots.push(slot);
            resolve(m.state as PolicyState);
            break;
          case 'state':
            // Every worker follows the same files: the latest report wins (a worker busy with a slow review reports late).
            this.onState(m.state as PolicyState);
            break;
          case 'ingested':
            this.onIngested(m.status, m.seconds);
            break;
          case 'result':
          case 'error':
            this.settle(m);
            break;
          case 'fatal':
            reject(new EvalPoolError(`evaluation worker ${index}: ${m.message}`));
            break;
        }
      });
      worker.on('error', (e) => {
        this.logger.error({ err: e, worker: index }, 'evaluation worker failed');
        reject(e);
      });
      worker.on('exit', (code) => {
        this.workers.delete(worker);
        const i = this.slots.indexOf(slot);
        if (i >= 0) this.slots.splice(i, 1);
        for (const [id, p] of this.pending) {
          if (p.slot !== slot) continue;
          clearTimeout(p.timer);
          this.pending.delete(id);
          if (!p.abandoned) p.reject(new EvalPoolError(`evaluation worker ${index} exited (${code}) during the review`));
        }
        if (!this.closing) {
          this.logger.error({ worker: index, code }, 'evaluation worker exited; starting a new one');
          this.spawn(index).catch((e) => this.logger.error({ err: e }, 'cannot restart the evaluation worker'));
        }
      });
    });
  }

  private settle(m: Extract<FromWorker, { type: 'result' | 'error' }>): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    p.slot.inFlight--;
    if (p.abandoned) return;
    if (m.type === 'result') p.resolve(m.result as ReviewResult);
    else {
      const e = new Error(m.message);
      e.name = m.name;
      p.reject(m.name === 'ReviewDeadlineError' ? Object.assign(new EvaluationDeadlineError(0), { message: m.message }) : e);
    }
  }

  review(req: ReviewRequest, opts: ReviewOptions): Promise<ReviewResult> {
    let slot: Slot | undefined;
    for (const s of this.slots) if (s.ready && (!slot || s.inFlight < slot.inFlight)) slot = s;
    if (!slot) return Promise.reject(new EvalPoolError('no evaluation worker is running'));
    const id = this.nextId++;
    const chosen = slot;
    return new Promise<ReviewResult>((resolve, reject) => {
      const p: Pending = { resolve, reject, slot: chosen };
      if (opts.deadlineMs !== undefined) {
        p.timer = setTimeout(() => {
          // The worker keeps its slot busy until it answers, so new reviews go to the others.
          p.abandoned = true;
          reject(new EvaluationDeadlineError(opts.deadlineMs!));
        }, opts.deadlineMs);
      }
      this.pending.set(id, p);
      chosen.inFlight++;
      const msg: ToWorker = { type: 'review', id, req, enforcementPoint: opts.enforcementPoint ?? 'validation.gatekeeper.sh' };
      if (opts.deadlineMs !== undefined) msg.deadlineMs = opts.deadlineMs;
      if (opts.namespace !== undefined) msg.namespace = opts.namespace;
      chosen.worker.postMessage(msg);
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.workers].map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.postMessage({ type: 'close' } satisfies ToWorker);
            setTimeout(() => void worker.terminate(), 5000).unref();
          }),
      ),
    );
  }
}
