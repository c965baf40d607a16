// Leader election on a coordination.k8s.io/v1 Lease, with client-go's semantics: a lease is free when its holder has
// not renewed it within leaseDurationSeconds as observed locally (no trust in other clocks); the leader renews every
// retryPeriod and steps down when it could not renew within renewDeadline; a graceful stop releases the lease.
import type { Logger } from 'pino';
import { isAlreadyExists, isConflict, isNotFound, type KubeClient, type KubeObject } from './client.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** This process's identity (pod name); must be unique among replicas. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger?: Logger;
}

interface Lease extends KubeObject {
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private stopped = false;
  private leading = false;
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: LeaderElectionOptions,
    private readonly callbacks: { onStartedLeading(): void; onStoppedLeading(): void },
  ) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election: need leaseDuration > renewDeadline > retryPeriod');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get path() {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases/${this.opts.name}`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops campaigning; a leader releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading) {
      this.leading = false;
      this.callbacks.onStoppedLeading();
    }
    await this.release().catch((e) => this.opts.logger?.warn({ err: (e as Error).message }, 'could not release the lease'));
  }

  private async run(): Promise<void> {
    let lastRenew = 0;
    while (!this.stopped) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (e) {
        this.opts.logger?.warn({ lease: this.opts.name, err: (e as Error).message }, 'lease update failed');
      }
      const now = Date.now();
      if (ok) {
        lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.opts.logger?.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'became leader');
          this.callbacks.onStartedLeading();
        }
      } else if (this.leading && now - lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        this.opts.logger?.warn({ lease: this.opts.name }, 'lost leadership');
        this.callbacks.onStoppedLeading();
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.retryPeriodMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const mine = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      renewTime: microTime(now),
    };
    const current = await this.client.tryGet<Lease>(this.path);
    if (!current) {
      try {
        await this.client.create(`/apis/coordination.k8s.io/v1/namespaces/${this.opts.namespace}/leases`, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.opts.name, namespace: this.opts.namespace },
          spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (e) {
        if (isAlreadyExists(e)) return false;
        throw e;
      }
    }
    const holder = current.spec.holderIdentity ?? '';
    const renewTime = current.spec.renewTime ?? '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: Date.now() };
    }
    const held = holder !== '' && holder !== this.opts.identity;
    const durationMs = (current.spec.leaseDurationSeconds ?? 15) * 1000;
    if (held && this.observed.at + durationMs > Date.now()) return false;
    const spec: Lease['spec'] =
      holder === this.opts.identity
        ? { ...current.spec, ...mine }
        : { ...current.spec, ...mine, acquireTime: microTime(now), leaseTransitions: (current.spec.leaseTransitions ?? 0) + 1 };
    try {
      await this.client.replace(this.path, { ...current, spec });
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  private async release(): Promise<void> {
    const current = await this.client.tryGet<Lease>(this.path);
    if (!current || current.spec.holderIdentity !== this.opts.identity) return;
    try {
      await this.client.replace(this.path, {
        ...current,
        spec: { ...current.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
      });
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e)) throw e;
    }
  }
}
