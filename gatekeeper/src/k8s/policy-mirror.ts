// `gatekeeper run --eval-workers`: the controllers change the main engine (the audit's, the one status is computed
// from) through this mirror, which replays every change on each evaluation worker's engine, in order. A worker that
// starts later (or is restarted after a crash) gets a snapshot of the main engine instead of the history.
import type { Logger } from 'pino';
import type { EngineOptions, PolicyEngine } from '../policy/engine.js';
import { objectKey } from '../policy/inventory.js';
import { EvalPool } from '../webhook/eval-pool.js';

/** What the policy and config controllers change. */
export type PolicyTarget = Pick<PolicyEngine, 'upsertTemplate' | 'removeTemplate' | 'upsertConstraint' | 'removeConstraint' | 'addInventory' | 'removeInventory'>;

export type PolicyOp =
  | { op: 'upsertTemplate'; obj: unknown }
  | { op: 'removeTemplate'; kind: string }
  | { op: 'upsertConstraint'; obj: unknown }
  | { op: 'removeConstraint'; kind: string; name: string }
  | { op: 'addInventory'; obj: unknown }
  | { op: 'removeInventory'; obj: unknown };

/** The message a worker receives for each change. */
export interface PolicyOpMessage {
  type: 'policy';
  change: PolicyOp;
}

export interface ClusterEvalWorkerData {
  index: number;
  engine: Omit<EngineOptions, 'logger'>;
  logLevel: string;
  /** Applied in order before the worker reports ready. */
  snapshot: PolicyOp[];
}

const inventoryKey = (obj: unknown) => {
  const k = objectKey(obj);
  return `${k.namespace ?? ''}/${k.gv}/${k.kind}/${k.name}`;
};

export class PolicyMirror implements PolicyTarget {
  /** kind → the last version of its template that compiled (what the engine serves). */
  private readonly templates = new Map<string, unknown>();
  private readonly inventory = new Map<string, unknown>();
  private pool: EvalPool | undefined;

  constructor(private readonly engine: PolicyEngine) {}

  /** Starts the workers on a snapshot of the engine; from then on every change reaches them too. */
  async startWorkers(count: number, engine: Omit<EngineOptions, 'logger'>, logger: Logger): Promise<EvalPool> {
    const logLevel = logger.level;
    const { pool } = await EvalPool.startWorkers(
      count,
      {
        script: new URL('./eval-worker.js', import.meta.url),
        data: (index): ClusterEvalWorkerData => ({ index, engine, logLevel, snapshot: this.snapshot() }),
      },
      logger,
      { onState: () => {}, onIngested: () => {} },
    );
    this.pool = pool;
    return pool;
  }

  /** The engine's templates, constraints and inventory as changes that rebuild it. */
  snapshot(): PolicyOp[] {
    const ops: PolicyOp[] = [];
    const loaded = new Set(this.engine.listTemplates().map((t) => t.kind));
    for (const [kind, obj] of this.templates) if (loaded.has(kind)) ops.push({ op: 'upsertTemplate', obj });
    for (const c of this.engine.listConstraints()) {
      const parsed = this.engine.getConstraint(c.kind, c.name);
      if (parsed) ops.push({ op: 'upsertConstraint', obj: parsed.raw });
    }
    for (const obj of this.inventory.values()) ops.push({ op: 'addInventory', obj });
    return ops;
  }

  private send(change: PolicyOp): void {
    this.pool?.broadcast({ type: 'policy', change } satisfies PolicyOpMessage);
  }

  async upsertTemplate(obj: unknown): Promise<{ kind: string; errors: string[] }> {
    const result = await this.engine.upsertTemplate(obj);
    if (!result.errors.length) this.templates.set(result.kind, obj);
    this.send({ op: 'upsertTemplate', obj });
    return result;
  }

  removeTemplate(kind: string): void {
    this.engine.removeTemplate(kind);
    this.templates.delete(kind);
    this.send({ op: 'removeTemplate', kind });
  }

  upsertConstraint(obj: unknown): void {
    // The workers apply it even when it is rejected here: they must end in the same state (the rejection) as the engine.
    try {
      this.engine.upsertConstraint(obj);
    } finally {
      this.send({ op: 'upsertConstraint', obj });
    }
  }

  removeConstraint(kind: string, name: string): void {
    this.engine.removeConstraint(kind, name);
    this.send({ op: 'removeConstraint', kind, name });
  }

  addInventory(obj: unknown): void {
    this.engine.addInventory(obj);
    this.inventory.set(inventoryKey(obj), obj);
    this.send({ op: 'addInventory', obj });
  }

  removeInventory(obj: unknown): void {
    this.engine.removeInventory(obj);
    this.inventory.delete(inventoryKey(obj));
    this.send({ op: 'removeInventory', obj });
  }
}
