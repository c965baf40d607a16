// Keeps the engine in step with a folder (or files) of ConstraintTemplates, constraints and ExpansionTemplates: loads them at start, then
// reloads on change (fs.watch for promptness, a cheap mtime/size poll as the safety net), applying only what changed.
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { PolicyEngine } from '../policy/engine.js';
import { loadPolicyFiles, type LoadedObject } from '../policy/load.js';
import { Expander, expanderOf } from '../expansion/expansion.js';

export interface PolicyState {
  templates: Array<{ kind: string; errors: string[] }>;
  constraints: Array<{ kind: string; name: string; enforcementAction: string; error?: string }>;
}

export interface PolicyFolderOptions {
  paths: string[];
  engine: PolicyEngine;
  logger: Logger;
  /** Poll period for changes (ms); 0 disables polling (fs.watch alone). */
  pollIntervalMs?: number;
  onChange?: (state: PolicyState) => void;
}

const POLICY_FILE = /\.(ya?ml|json)$/i;

function hashOf(obj: unknown): string {
  return createHash('sha256').update(JSON.stringify(obj)).digest('hex');
}

/** loadPolicyFiles wraps each object with its source (file:document). */
function unwrap(x: LoadedObject): any {
  return x.obj;
}

function templateKind(t: any): string | undefined {
  return t?.spec?.crd?.spec?.names?.kind;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class PolicyFolder {
  private readonly templateHashes = new Map<string, string>();
  private readonly templateErrors = new Map<string, string[]>();
  /** key kind/name → hash of the constraint as last applied. */
  private readonly constraintHashes = new Map<string, string>();
  private readonly constraintErrors = new Map<string, string>();
  private readonly constraintActions = new Map<string, string>();
  private signature = '';
  private watchers: FSWatcher[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | undefined;
  private again = false;
  private loadedOnce = false;
  /** The folder's ExpansionTemplates (invalid ones logged and left out). */
  expander = new Expander([]);

  constructor(private readonly opts: PolicyFolderOptions) {}

  get ready(): boolean {
    return this.loadedOnce;
  }

  state(): PolicyState {
    return {
      templates: [...this.templateHashes.keys()].map((kind) => ({ kind, errors: this.templateErrors.get(kind) ?? [] })),
      constraints: [...this.constraintHashes.keys()].map((key) => {
        const [kind, name] = key.split('/') as [string, string];
        const error = this.constraintErrors.get(key);
        return { kind, name, enforcementAction: this.constraintActions.get(key) ?? 'deny', ...(error ? { error } : {}) };
      }),
    };
  }

  /** First load: a folder that cannot be read or parsed is an error the caller reports. */
  async load(): Promise<PolicyState> {
    this.signature = await this.computeSignature();
    await this.apply();
    this.loadedOnce = true;
    return this.state();
  }

  /** Starts watching for changes; a failed reload keeps the previous policies and is logged. */
  watch(): void {
    for (const p of this.opts.paths) {
      try {
        const w = watch(p, { recursive: true }, () => this.schedule());
        w.on('error', (e) => this.opts.logger.warn({ err: e, path: p }, 'policy watch error; polling continues'));
        this.watchers.push(w);
      } catch (e) {
        this.opts.logger.warn({ err: e, path: p }, 'cannot watch the policy path; relying on polling');
      }
    }
    const every = this.opts.pollIntervalMs ?? 2000;
    if (every > 0) {
      this.pollTimer = setInterval(() => void this.checkSignature(), every);
      this.pollTimer.unref();
    }
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.debounce) clearTimeout(this.debounce);
    await this.reloading;
  }

  private schedule(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.checkSignature(), 150);
    this.debounce.unref();
  }

  private async checkSignature(): Promise<void> {
    let sig: string;
    try {
      sig = await this.computeSignature();
    } catch (e) {
      this.opts.logger.warn({ err: e }, 'cannot list the policy files');
      return;
    }
    if (sig === this.signature) return;
    this.signature = sig;
    await this.reload();
  }

  /** Reloads now (serialised: a change during a reload triggers one more). */
  async reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        try {
          await this.apply();
          this.opts.logger.info({ templates: this.templateHashes.size, constraints: this.constraintHashes.size }, 'policies reloaded');
        } catch (e) {
          this.opts.logger.error({ err: e }, 'policy reload failed; keeping the previous policies');
          this.opts.onChange?.(this.state());
        }
      } while (this.again);
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async computeSignature(): Promise<string> {
    const parts: string[] = [];
    const visit = async (p: string): Promise<void> => {
      const s = await stat(p);
      if (s.isDirectory()) {
        const entries = await readdir(p);
        entries.sort();
        for (const e of entries) if (!e.startsWith('.')) await visit(path.join(p, e));
      } else if (POLICY_FILE.test(p) || this.opts.paths.includes(p)) {
        parts.push(`${p}:${s.size}:${s.mtimeMs}`);
      }
    };
    for (const p of this.opts.paths) await visit(p);
    return parts.join('\n');
  }

  private async apply(): Promise<void> {
    const { engine, logger } = this.opts;
    const loaded = await loadPolicyFiles(this.opts.paths);
    const templates = loaded.templates.map(unwrap);
    const constraints = loaded.constraints.map(unwrap);
    this.expander = expanderOf(loaded.others.map(unwrap), (name, message) => logger.error({ expansionTemplate: name, err: message }, 'ExpansionTemplate not applied'));

    const wantedTemplates = new Map<string, { obj: any; hash: string }>();
    for (const t of templates) {
      const kind = templateKind(t);
      if (!kind) {
        logger.error({ template: t?.metadata?.name }, 'ConstraintTemplate without spec.crd.spec.names.kind; skipped');
        continue;
      }
      wantedTemplates.set(kind, { obj: t, hash: hashOf(t) });
    }
    const wantedConstraints = new Map<string, { obj: any; hash: string }>();
    for (const c of constraints) {
      const key = `${c?.kind}/${c?.metadata?.name}`;
      wantedConstraints.set(key, { obj: c, hash: hashOf(c) });
    }

    // Removals first: constraints, then their templates.
    for (const key of [...this.constraintHashes.keys()]) {
      if (wantedConstraints.has(key)) continue;
      const [kind, name] = key.split('/') as [string, string];
      if (!this.constraintErrors.has(key)) engine.removeConstraint(kind, name);
      this.forgetConstraint(key);
    }
    for (const kind of [...this.templateHashes.keys()]) {
      if (wantedTemplates.has(kind)) continue;
      engine.removeTemplate(kind);
      this.templateHashes.delete(kind);
      this.templateErrors.delete(kind);
    }

    const changedKinds = new Set<string>();
    for (const [kind, { obj, hash }] of wantedTemplates) {
      if (this.templateHashes.get(kind) === hash) continue;
      const started = performance.now();
      let errors: string[];
      try {
        errors = (await engine.upsertTemplate(obj)).errors;
      } catch (e) {
        errors = [errorText(e)];
      }
      const status = errors.length ? 'error' : 'active';
      this.onTemplateIngested(status, (performance.now() - started) / 1000);
      if (errors.length) logger.error({ kind, errors }, 'template does not compile');
      this.templateHashes.set(kind, hash);
      this.templateErrors.set(kind, errors);
      changedKinds.add(kind);
    }

    for (const [key, { obj, hash }] of wantedConstraints) {
      const kind = key.split('/')[0]!;
      if (this.constraintHashes.get(key) === hash && !changedKinds.has(kind) && !this.constraintErrors.has(key)) continue;
      this.constraintHashes.set(key, hash);
      this.constraintActions.set(key, obj?.spec?.enforcementAction || 'deny');
      try {
        engine.upsertConstraint(obj);
        this.constraintErrors.delete(key);
      } catch (e) {
        this.constraintErrors.set(key, errorText(e));
        logger.error({ constraint: key, error: errorText(e) }, 'constraint rejected');
      }
    }
    this.opts.onChange?.(this.state());
  }

  /** Set by the webhook to feed Gatekeeper's template ingestion metrics. */
  onTemplateIngested: (status: 'active' | 'error', seconds: number) => void = () => {};

  private forgetConstraint(key: string): void {
    this.constraintHashes.delete(key);
    this.constraintErrors.delete(key);
    this.constraintActions.delete(key);
  }
}
