// `exporter config check FILE`, `config defaults` and `config schema`: the configuration as the exporter reads it,
// without running it. check exits 2 naming every bad key (as `run` would); both print the deprecation warnings on stderr.
import type { Command } from 'commander';
import { ConfigError, loadCheckedConfig, type ConfigOverrides } from '../config/load.js';
import { configSchema } from '../config/schema.js';
import { schemaOfSinkType, type CheckedConfig } from '../config/resolve.js';
import { redactSecrets } from '../config/secret.js';
import { exporterConfigSchema } from '../config/full-schema.js';

function checked(opts: { config?: string; dataDir?: string }, flags: ConfigOverrides = {}): CheckedConfig {
  try {
    const c = loadCheckedConfig({ configFile: opts.config, dataDir: opts.dataDir, flags });
    for (const w of c.warnings) process.stderr.write(`exporter: warning: ${w}\n`);
    return c;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`exporter: ${e.message}\n`);
    process.exit(2);
  }
}

/** The effective config, every default filled in, inline secrets replaced by "[redacted]". */
export function printableConfig(effective: Record<string, unknown>): Record<string, unknown> {
  const top = redactSecrets(configSchema, { ...effective, sinks: [] }) as Record<string, unknown>;
  const sinks = (effective['sinks'] as Record<string, unknown>[]).map((s) => redactSecrets(schemaOfSinkType(s['type'] as string)!, s));
  return { ...top, sinks };
}

export function addConfigCommands(program: Command, toYaml: (v: unknown) => string): void {
  const config = program.command('config').description('check a config file, or print the effective config with every default');
  config
    .command('check')
    .argument('<file>', 'config file, YAML or JSON')
    .description('validate the file as `exporter run` would (with the EXPORTER_* environment): exit 0, or 2 naming each bad key')
    .action((file: string) => {
      const c = checked({ config: file });
      process.stdout.write(`${file}: ok, ${c.config.sinks.length} sink${c.config.sinks.length === 1 ? '' : 's'}${c.warnings.length ? `, ${c.warnings.length} deprecation warnings` : ''}\n`);
    });
  config
    .command('schema')
    .description('print the JSON Schema of the config file (every key, its default and its limits; for editors)')
    .action(() => {
      process.stdout.write(JSON.stringify(exporterConfigSchema(), null, 2) + '\n');
    });
  config
    .command('defaults')
    .description('print the effective config (defaults < file or --data-dir default < environment), every key filled in, secrets redacted')
    .option('-c, --config <file>', 'config file, YAML or JSON (env EXPORTER_CONFIG)')
    .option('-d, --data-dir <dir>', 'without a config: the embedded default under DIR (env EXPORTER_DATA_DIR)')
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action((opts: { config?: string; dataDir?: string; output: string }) => {
      const out = printableConfig(checked(opts).effective);
      process.stdout.write(opts.output === 'json' ? JSON.stringify(out, null, 2) + '\n' : toYaml(out));
    });
}
