// The main thread's side of the writer thread (writer-worker.ts): posts ingest batches and sinks' advances, resolves
// each when the thread replies that it committed. The queue's other writes (pruning, retention, sink state) stay on the
// main thread's connection and wait until nothing is in flight (idle()), so the two rarely meet on SQLite's write lock.
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { NewRecord } from './record-log.js';
import type { NewDeadLetter } from './dead-letters.js';
import type { Advanced, Appended } from './transactions.js';
import { packRecords, THREAD_FAILED, THREAD_READY, THREAD_STARTING, type WriterJob, type WriterReply, type WriterThreadData } from './writer-job.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** How long opening or closing the thread's connection may take (SQLite's busy timeout is 5 s). */
const WAIT_MS = 15_000;
/** 2, 4 and 8 MB gave the same peak RSS and CPU end to end (bench/exporter-ingest.ts e2e, 2 rounds, 2026-12-06). */
const YOUNG_GENERATION_MB = 4;

export class WriterThreadError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export class WriterThread {
  private readonly worker: Worker;
  private readonly state: Int32Array;
  private nextId = 1;
  private readonly inFlight = new Map<number, { resolve: (r: Appended | Advanced) => void; reject: (e: Error) => void }>();
  private idleWaiters: (() => void)[] = [];
  private failure: Error | undefined;

  /** Starts the thread and waits (synchronously) until its connection is open; throws why it could not open it. */
  constructor(o: Omit<WriterThreadData, 'state' | 'errors'>) {
    this.state = new Int32Array(new SharedArrayBuffer(4));
    const errors = new MessageChannel();
    const data: WriterThreadData = { ...o, state: this.state, errors: errors.port2 };
    this.worker = new Worker(new URL('./writer-worker.js', import.meta.url), {
      workerData: data,
      transferList: [errors.port2],
      // What a batch leaves behind dies young, and its 1 MB string goes straight to V8's large-object space: a small
      // young generation is enough (the process's --max-semi-space-size=8 would give this isolate up to 24 MB of it).
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    this.worker.unref();
    Atomics.wait(this.state, 0, THREAD_STARTING, WAIT_MS);
    const started = Atomics.load(this.state, 0);
    if (started !== THREAD_STARTING && started !== THREAD_FAILED) {
      errors.port1.close();
      this.worker.on('message', (r: WriterReply) => this.settle(r));
      this.worker.on('error', (e) => this.fail(e));
      this.worker.on('exit', (code) => this.fail(new Error(`the queue's writer thread exited (code ${code})`)));
      return;
    }
    const why = receiveMessageOnPort(errors.port1)?.message as { message: string; code?: string } | undefined;
    errors.port1.close();
    void this.worker.terminate();
    throw new WriterThreadError(why?.message ?? `the queue's writer thread did not start within ${WAIT_MS} ms`, why?.code);
  }

  /** Commits a batch on the thread; the records are packed before this returns, so the caller may reuse its arrays. */
  append(records: readonly NewRecord[], rejects: readonly NewDeadLetter[], onlySink: string | null, bytesBefore: number): Promise<Appended> {
    const { text, lengths } = packRecords(records);
    return this.post({ kind: 'append', text, lengths, rejects, onlySink, bytesBefore }, [lengths.buffer as ArrayBuffer]) as Promise<Appended>;
  }

  advance(sink: string, cursor: number, delivered: number, deadLetters: readonly NewDeadLetter[], andPrune: boolean): Promise<Advanced> {
    return this.post({ kind: 'advance', sink, cursor, delivered, deadLetters, andPrune }, []) as Promise<Advanced>;
  }

  private post(job: DistributiveOmit<WriterJob, 'id'>, transfer: ArrayBuffer[]): Promise<Appended | Advanced> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.inFlight.set(id, { resolve, reject });
      this.worker.postMessage({ ...job, id }, transfer);
    });
  }

  /** Resolves once no job is in flight (at once when none is). */
  idle(): Promise<void> {
    if (!this.inFlight.size) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  private settle(r: WriterReply): void {
    const waiting = this.inFlight.get(r.id);
    if (!waiting) return;
    this.inFlight.delete(r.id);
    if (r.ok) waiting.resolve(r.result);
    else waiting.reject(new WriterThreadError(r.message, r.code));
    if (!this.inFlight.size) this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const w of this.inFlight.values()) w.reject(e);
    this.inFlight.clear();
    this.wakeIdle();
  }

  /** Closes the thread's connection (waiting for it synchronously, as Queue.close does its own) and ends the thread. */
  close(): void {
    if (this.failure) return;
    this.failure = new Error('the queue is closed');
    this.worker.postMessage('close');
    Atomics.wait(this.state, 0, THREAD_READY, WAIT_MS);
    void this.worker.terminate();
  }
}
