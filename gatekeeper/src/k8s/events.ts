// Kubernetes Events recorded as client-go's event broadcaster records them (tools/record, the recorder Gatekeeper uses):
// a bounded queue (1000, overflow dropped) drained by one sender, and the EventCorrelator's defaults in front of the API
// server — similar events (same object and reason, differing message) combined after 10 in 10 minutes, an identical
// event PATCHed (count + 1) instead of created again, and per source+object a token bucket of 25 events refilled at one
// every 5 minutes. record() never waits: the webhook and the audit hand an Event over and go on.
import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { KubeApiError, isNotFound, type KubeClient } from './client.js';

export interface ObjectReference {
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
  apiVersion?: string;
  fieldPath?: string;
}

export interface KubeEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; resourceVersion?: string };
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  type: 'Warning' | 'Normal';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string; host?: string };
  reportingComponent: string;
  reportingInstance?: string;
}

export interface CorrelatorSettings {
  /** Events a source may send about one object at once (client-go defaultSpamBurst). */
  burst: number;
  /** Refill of that bucket per second (client-go defaultSpamQPS: 1/300). */
  qps: number;
  /** Distinct messages of similar events before they are combined (defaultAggregateMaxEvents). */
  aggregateMaxEvents: number;
  aggregateIntervalSeconds: number;
  /** Entries of each correlation cache (maxLruCacheEntries). */
  cacheSize: number;
}

export const CLIENT_GO_CORRELATOR: CorrelatorSettings = { burst: 25, qps: 1 / 300, aggregateMaxEvents: 10, aggregateIntervalSeconds: 600, cacheSize: 4096 };
/** client-go's maxQueuedEvents. */
export const CLIENT_GO_QUEUE_SIZE = 1000;
const COMBINED_PREFIX = '(combined from similar events): ';

class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

type Observation = { count: number; firstTimestamp: string; name: string; resourceVersion?: string };

const objectKey = (e: KubeEvent) => {
  const o = e.involvedObject;
  return [e.source.component, e.source.host ?? '', o.kind, o.namespace, o.name, o.uid ?? '', o.apiVersion ?? ''];
};
const eventKey = (e: KubeEvent) => [...objectKey(e), e.involvedObject.fieldPath ?? '', e.type, e.reason, e.message].join('\u0000');

/** client-go's EventCorrelator: aggregate, then de-duplicate, then spam-filter. */
export class EventCorrelator {
  private readonly aggregates: Lru<{ messages: Set<string>; last: number }>;
  private readonly observed: Lru<Observation>;
  private readonly buckets: Lru<{ tokens: number; last: number }>;

  constructor(
    private readonly s: CorrelatorSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.aggregates = new Lru(s.cacheSize);
    this.observed = new Lru(s.cacheSize);
    this.buckets = new Lru(s.cacheSize);
  }

  /** The event to send (a PATCH when `patch`), or undefined when the source+object bucket is empty. */
  correlate(incoming: KubeEvent): { event: KubeEvent; patch: boolean } | undefined {
    const now = this.now();
    const aggregateKey = [...objectKey(incoming), incoming.type, incoming.reason, incoming.reportingComponent, incoming.reportingInstance ?? ''].join('\u0000');
    let record = this.aggregates.get(aggregateKey);
    if (!record || now - record.last > this.s.aggregateIntervalSeconds * 1000) record = { messages: new Set(), last: now };
    record.messages.add(incoming.message);
    record.last = now;
    this.aggregates.set(aggregateKey, record);
    let event = { ...incoming, metadata: { ...incoming.metadata } };
    let key = eventKey(incoming);
    if (record.messages.size >= this.s.aggregateMaxEvents) {
      record.messages.delete(record.messages.values().next().value!);
      // As client-go: the combined event keeps neither the annotations nor the first message.
      event = { ...event, metadata: { name: eventName(incoming.involvedObject.name), namespace: incoming.metadata.namespace }, message: COMBINED_PREFIX + incoming.message, count: 1 };
      key = aggregateKey;
    }

    const last = this.observed.get(key);
    if (last) {
      event.metadata.name = last.name;
      if (last.resourceVersion) event.metadata.resourceVersion = last.resourceVersion;
      event.firstTimestamp = last.firstTimestamp;
      event.count = last.count + 1;
    }
    this.observed.set(key, { count: event.count, firstTimestamp: event.firstTimestamp, name: event.metadata.name, ...(event.metadata.resourceVersion ? { resourceVersion: event.metadata.resourceVersion } : {}) });

    const spamKey = objectKey(event).join('\u0000');
    const bucket = this.buckets.get(spamKey) ?? { tokens: this.s.burst, last: now };
    bucket.tokens = Math.min(this.s.burst, bucket.tokens + ((now - bucket.last) / 1000) * this.s.qps);
    bucket.last = now;
    this.buckets.set(spamKey, bucket);
    if (bucket.tokens < 1) return undefined;
    bucket.tokens -= 1;
    return { event, patch: last !== undefined };
  }

  /** What the API server answered: later PATCHes of the same event go to its name and version. */
  updateState(stored: KubeEvent): void {
    this.observed.set(eventKey(stored), {
      count: stored.count,
      firstTimestamp: stored.firstTimestamp,
      name: stored.metadata.name,
      ...(stored.metadata.resourceVersion ? { resourceVersion: stored.metadata.resourceVersion } : {}),
    });
  }
}

let lastNanos = 0n;
/** client-go's `<name>.<unix nanoseconds in hex>`, kept unique within this process. */
function eventName(objectName: string): string {
  let nanos = BigInt(Date.now()) * 1_000_000n;
  if (nanos <= lastNanos) nanos = lastNanos + 1n;
  lastNanos = nanos;
  return `${objectName}.${nanos.toString(16)}`;
}

/** metav1.Time: RFC 3339, seconds. */
const kubeTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export type EventResult = 'created' | 'patched' | 'rate_limited' | 'dropped' | 'failed';

/** Counts of what became of the events handed over, for every recorder of the process. */
export class EventMetrics {
  readonly registry = new Registry();
  readonly events: Counter<'source' | 'result'>;
  readonly queued: Gauge<'source'>;

  constructor() {
    const registers = [this.registry];
    this.events = new Counter({
      name: 'gatekeeper_kube_events_total',
      help: 'Kubernetes Events handed to the recorder, by result: created, patched (count + 1), rate_limited (client-go spam filter), dropped (queue full), failed',
      labelNames: ['source', 'result'],
      registers,
    });
    this.queued = new Gauge({ name: 'gatekeeper_kube_events_queued', help: 'Kubernetes Events waiting to be sent', labelNames: ['source'], registers });
  }
}

export interface EventRecorderOptions {
  client: KubeClient;
  /** source.component and reportingComponent: gatekeeper-webhook or gatekeeper-audit, as Gatekeeper. */
  component: string;
  metrics: EventMetrics;
  logger: Logger;
  queueSize?: number;
  correlator?: CorrelatorSettings;
  /** client-go: 12 tries, 10 s apart, for an API server that cannot be reached; a rejected event is not retried. */
  maxTries?: number;
  retryDelayMs?: number;
}

export class EventRecorder {
  private readonly queue: KubeEvent[] = [];
  private readonly correlator: EventCorrelator;
  private sending: Promise<void> | undefined;
  private readonly closed = new AbortController();

  constructor(private readonly o: EventRecorderOptions) {
    this.correlator = new EventCorrelator(o.correlator ?? CLIENT_GO_CORRELATOR);
  }

  /** Queues a Warning event about `ref`; never waits. The event's namespace is the reference's. */
  warning(ref: ObjectReference, annotations: Record<string, string>, reason: string, message: string): void {
    const source = this.o.component;
    if (this.closed.signal.aborted || this.queue.length >= (this.o.queueSize ?? CLIENT_GO_QUEUE_SIZE)) {
      this.o.metrics.events.inc({ source, result: 'dropped' });
      return;
    }
    const now = kubeTime(Date.now());
    this.queue.push({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName(ref.name), namespace: ref.namespace || 'default', annotations },
      involvedObject: ref,
      reason,
      message,
      type: 'Warning',
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: source },
      reportingComponent: source,
    });
    this.o.metrics.queued.set({ source }, this.queue.length);
    this.sending ??= this.drain();
  }

  /** Resolves once every queued event is sent, or at the deadline (the rest is then dropped). */
  async close(timeoutMs = 5000): Promise<void> {
    const deadline = setTimeout(() => this.closed.abort(), timeoutMs);
    await this.sending;
    clearTimeout(deadline);
    this.closed.abort();
  }

  /** Settles when the queue is empty (tests). */
  async idle(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private async drain(): Promise<void> {
    try {
      await this.sendQueued();
    } finally {
      // In the same turn as the last shift(): an event queued after this starts a new drain.
      this.sending = undefined;
    }
  }

  private async sendQueued(): Promise<void> {
    const source = this.o.component;
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      this.o.metrics.queued.set({ source }, this.queue.length);
      if (this.closed.signal.aborted) {
        this.o.metrics.events.inc({ source, result: 'dropped' });
        continue;
      }
      const correlated = this.correlator.correlate(next);
      if (!correlated) {
        this.o.metrics.events.inc({ source, result: 'rate_limited' });
        continue;
      }
      this.o.metrics.events.inc({ source, result: await this.send(correlated.event, correlated.patch) });
    }
  }

  private async send(event: KubeEvent, patch: boolean): Promise<EventResult> {
    const collection = `/api/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events`;
    const maxTries = this.o.maxTries ?? 12;
    for (let tries = 1; ; tries++) {
      try {
        if (patch) {
          try {
            const path = `${collection}/${encodeURIComponent(event.metadata.name)}`;
            const patch = { count: event.count, lastTimestamp: event.lastTimestamp, message: event.message };
            this.correlator.updateState(await this.o.client.mergePatch<KubeEvent>(path, patch));
            return 'patched';
          } catch (e) {
            // Removed meanwhile (TTL): created again, as client-go does.
            if (!isNotFound(e)) throw e;
          }
        }
        const { resourceVersion: _, ...metadata } = event.metadata;
        this.correlator.updateState(await this.o.client.create<KubeEvent>(collection, { ...event, metadata }));
        return 'created';
      } catch (e) {
        const rejected = e instanceof KubeApiError && e.status < 500;
        if (rejected || tries >= maxTries || this.closed.signal.aborted) {
          this.o.logger.warn({ err: (e as Error).message, reason: event.reason, involvedObject: event.involvedObject }, 'could not record a Kubernetes Event');
          return 'failed';
        }
        await sleep(tries === 1 ? Math.random() * (this.o.retryDelayMs ?? 10_000) : (this.o.retryDelayMs ?? 10_000), this.closed.signal);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
