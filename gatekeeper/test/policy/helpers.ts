// Shared fixtures for the engine tests: a real engine (real opa, temp cache) and small template/constraint builders.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { peerPath } from '../../../test/helpers/peers.js';
import { PolicyEngine } from '../../src/policy/engine.js';

export const opaPath = peerPath('opa');

export function tempDir(t: Test, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function newEngine(t: Test, cacheDir = tempDir(t, 'gk-engine-cache-')): Promise<PolicyEngine> {
  return PolicyEngine.create({ opaPath, cacheDir });
}

export function template(kind: string, rego: string, opts: { schema?: object; libs?: string[]; apiVersion?: string; code?: boolean; version?: string } = {}) {
  const target: Record<string, unknown> = { target: 'admission.k8s.gatekeeper.sh' };
  if (opts.code) target.code = [{ engine: 'Rego', source: { rego, libs: opts.libs, version: opts.version } }];
  else {
    target.rego = rego;
    if (opts.libs) target.libs = opts.libs;
  }
  return {
    apiVersion: opts.apiVersion ?? 'templates.gatekeeper.sh/v1',
    kind: 'ConstraintTemplate',
    metadata: { name: kind.toLowerCase() },
    spec: {
      crd: { spec: { names: { kind }, validation: opts.schema ? { openAPIV3Schema: opts.schema } : undefined } },
      targets: [target],
    },
  };
}

export function constraint(kind: string, name: string, spec: Record<string, unknown> = {}) {
  return { apiVersion: 'constraints.gatekeeper.sh/v1beta1', kind, metadata: { name }, spec };
}

export function pod(name: string, namespace?: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(namespace ? { namespace } : {}), ...((extra.metadata as object) ?? {}) },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
  };
}

/** A template whose single violation says which object it saw: "saw <name>". */
export const sawRego = (pkg: string) => `package ${pkg}
violation[{"msg": msg}] {
  msg := sprintf("saw %v", [input.review.object.metadata.name])
}
`;
