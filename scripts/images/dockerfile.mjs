// Reads a Dockerfile the way the image assembly needs it: stages, ARG defaults (global and per stage, overridable as
// with --build-arg), and the final stage's image settings (LABEL, ENV, USER, WORKDIR, EXPOSE, HEALTHCHECK,
// ENTRYPOINT, CMD) and COPY instructions. It knows the instruction forms the project's Dockerfiles use and refuses the
// others, so a Dockerfile change the assembly cannot follow stops the build with the line named.

/** @typedef {{ keyword: string, args: string, line: number }} Instruction */
/** @typedef {{ image: string, name?: string, instructions: Instruction[] }} Stage */

/** @param {string} text */
export function parseDockerfile(text) {
  /** @type {Instruction[]} */
  const instructions = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    if (!pending) startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/s.exec(full);
    instructions.push({ keyword: m[1].toUpperCase(), args: m[2].replace(/\s+/g, ' ').trim(), line: startLine });
  });
  /** @type {Record<string, string>} */
  const globalArgs = {};
  /** @type {Stage[]} */
  const stages = [];
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [k, v] = splitArg(ins.args);
      globalArgs[k] = v ?? '';
    } else if (ins.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`line ${ins.line}: FROM ${ins.args}: expected "image [AS name]"`);
      stages.push({ image: substitute(m[1], globalArgs), ...(m[2] ? { name: m[2] } : {}), instructions: [] });
    } else if (stages.length === 0) {
      throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
    } else {
      stages.at(-1).instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

/** @param {string} args */
function splitArg(args) {
  const i = args.indexOf('=');
  return i < 0 ? [args, undefined] : [args.slice(0, i), args.slice(i + 1)];
}

/** @param {string} s @param {Record<string, string>} vars */
export function substitute(s, vars) {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a, b) => {
    const name = a ?? b;
    if (!(name in vars)) throw new Error(`\${${name}} is not a declared ARG or ENV`);
    return vars[name];
  });
}

/** `k=v k2="v 2"` pairs (LABEL, ENV), quotes removed, variables substituted. */
export function keyValues(args, vars) {
  /** @type {[string, string][]} */
  const pairs = [];
  const re = /\s*([^\s=]+)=("(?:[^"\\]|\\.)*"|\S*)/gy;
  let m;
  let end = 0;
  while ((m = re.exec(args))) {
    const raw = m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\(.)/g, '$1') : m[2];
    pairs.push([m[1], substitute(raw, vars)]);
    end = re.lastIndex;
  }
  if (args.slice(end).trim()) throw new Error(`cannot read "${args.slice(end).trim()}" as key=value`);
  return pairs;
}

/** The JSON-array (exec) form; the shell form is refused (the runtime has no shell). */
export function execForm(args, what) {
  if (!args.startsWith('[')) throw new Error(`${what} ${args}: only the exec form ["..."] is supported (the image has no shell)`);
  return JSON.parse(args);
}

/** Go duration as Docker writes it into the config (nanoseconds). */
function durationNs(s) {
  const m = /^(\d+)(ms|s|m|h)$/.exec(s);
  if (!m) throw new Error(`duration ${s}: expected e.g. 30s`);
  return Number(m[1]) * { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2]];
}

/**
 * The image configuration the final stage produces (Docker's config object), given build arguments.
 * @param {{ globalArgs: Record<string,string>, stages: Stage[] }} df
 * @param {Record<string, string>} buildArgs
 * @param {string[]} baseEnv the Env the base image carries (a Dockerfile ENV adds to it)
 */
export function finalStageConfig(df, buildArgs, baseEnv) {
  const final = df.stages.at(-1);
  /** @type {Record<string, string>} */
  const vars = {};
  /** @type {Map<string, string>} */
  const env = new Map(baseEnv.map((e) => splitArg(e)));
  const config = { User: '', WorkingDir: '/', Env: [], Entrypoint: null, Cmd: null, ExposedPorts: {}, Labels: {} };
  /** @type {{ from: string, src: string, dest: string }[]} */
  const copies = [];
  for (const ins of final.instructions) {
    const at = `line ${ins.line}: ${ins.keyword}`;
    try {
      switch (ins.keyword) {
        case 'ARG': {
          const [k, v] = splitArg(ins.args);
          vars[k] = buildArgs[k] ?? v ?? df.globalArgs[k] ?? '';
          break;
        }
        case 'LABEL':
          for (const [k, v] of keyValues(ins.args, vars)) config.Labels[k] = v;
          break;
        case 'ENV':
          for (const [k, v] of keyValues(ins.args, { ...vars, ...Object.fromEntries(env) })) env.set(k, v);
          break;
        case 'WORKDIR':
          config.WorkingDir = substitute(ins.args, vars);
          break;
        case 'USER':
          config.User = substitute(ins.args, vars);
          break;
        case 'EXPOSE':
          for (const p of ins.args.split(' ')) config.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
          break;
        case 'ENTRYPOINT':
          config.Entrypoint = execForm(ins.args, 'ENTRYPOINT');
          break;
        case 'CMD':
          config.Cmd = execForm(ins.args, 'CMD');
          break;
        case 'HEALTHCHECK': {
          const opts = Object.fromEntries([...ins.args.matchAll(/--([\w-]+)=(\S+)/g)].map((m) => [m[1], m[2]]));
          const cmd = execForm(ins.args.replace(/^(--\S+\s+)*CMD\s+/, ''), 'HEALTHCHECK CMD');
          config.Healthcheck = {
            Test: ['CMD', ...cmd],
            ...(opts.interval ? { Interval: durationNs(opts.interval) } : {}),
            ...(opts.timeout ? { Timeout: durationNs(opts.timeout) } : {}),
            ...(opts['start-period'] ? { StartPeriod: durationNs(opts['start-period']) } : {}),
            ...(opts.retries ? { Retries: Number(opts.retries) } : {}),
          };
          break;
        }
        case 'COPY': {
          const m = /^--from=(\S+) (\S+) (\S+)$/.exec(ins.args);
          if (!m) throw new Error(`only "COPY --from=<stage> <src> <dest>" is supported: ${ins.args}`);
          copies.push({ from: m[1], src: m[2], dest: m[3] });
          break;
        }
        default:
          throw new Error('not supported in the final stage');
      }
    } catch (e) {
      throw new Error(`${at}: ${/** @type {Error} */ (e).message}`);
    }
  }
  config.Env = [...env].map(([k, v]) => `${k}=${v}`);
  return { config, copies };
}
