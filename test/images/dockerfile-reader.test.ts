// scripts/images/dockerfile.mjs, the reader build.mjs follows: what it makes of a final stage, and the clear refusal
// (with the Dockerfile line) of what the assembly cannot reproduce; build.mjs's own usage errors.
import { execFile } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/peers.js';
// @ts-expect-error: a plain ESM script without type declarations
import { finalStageConfig, parseDockerfile } from '../../scripts/images/dockerfile.mjs';

type Reader = (text: string) => unknown;
const config = (text: string) => finalStageConfig((parseDockerfile as Reader)(text), { VERSION: '9.9.9' }, ['PATH=/bin']) as {
  config: { Env: string[]; Labels: Record<string, string>; Entrypoint: string[]; ExposedPorts: Record<string, object>; Healthcheck: { Interval: number; Test: string[] } };
  copies: { from: string; src: string; dest: string }[];
};

t.test('a final stage becomes the image config', async (t) => {
  const c = config(`ARG X=1
FROM a AS deps
FROM base
ARG VERSION=0.0.1
ARG X
LABEL a="two words" b=\${VERSION} c=\${X}
ENV K=v \\
    Q="x y"
USER 65532:65532
WORKDIR /app
COPY --from=deps /src /app
EXPOSE 8443 9464/udp
HEALTHCHECK --interval=30s --retries=3 CMD ["/n", "-e", "1"]
ENTRYPOINT ["/n", "/m.js"]
CMD ["run"]
`);
  t.same(c.config.Labels, { a: 'two words', b: '9.9.9', c: '1' }, 'build arguments win over defaults; global ARGs inherited');
  t.same(c.config.Env, ['PATH=/bin', 'K=v', 'Q=x y'], "the base's Env, then the stage's");
  t.same(Object.keys(c.config.ExposedPorts), ['8443/tcp', '9464/udp']);
  t.same(c.config.Healthcheck, { Test: ['CMD', '/n', '-e', '1'], Interval: 30e9, Retries: 3 });
  t.same(c.copies, [{ from: 'deps', src: '/src', dest: '/app' }]);
});

t.test('what the assembly cannot reproduce is refused with its line', async (t) => {
  t.throws(() => config('FROM base\nENTRYPOINT node /m.js\n'), /line 2: ENTRYPOINT: .*only the exec form/);
  t.throws(() => config('FROM base\n\nRUN echo hi\n'), /line 3: RUN: not supported in the final stage/);
  t.throws(() => config('FROM base\nLABEL a=${NOPE}\n'), /line 2: LABEL: \$\{NOPE\} is not a declared ARG or ENV/);
  t.throws(() => config('FROM base\nCOPY ./x /x\n'), /line 2: COPY: only "COPY --from=<stage> <src> <dest>"/);
  t.throws(() => config('FROM base\nHEALTHCHECK --interval=5 CMD ["x"]\n'), /duration 5: expected e.g. 30s/);
  t.throws(() => config('USER 1\nFROM base\n'), /line 1: USER before the first FROM/);
});

t.test('build.mjs: an unknown option is a usage error', async (t) => {
  const r = await new Promise<{ code: number; err: string }>((resolve) =>
    execFile(process.execPath, [path.join(repoRoot, 'scripts/images/build.mjs'), '--bogus'], (e, _o, err) => resolve({ code: (e as { code?: number } | null)?.code ?? 0, err })),
  );
  t.equal(r.code, 2);
  t.match(r.err, /Unknown option '--bogus'[\s\S]*usage: node scripts\/images\/build.mjs/);
});
