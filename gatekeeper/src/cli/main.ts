#!/usr/bin/env node
// The gatekeeper CLI: one file per subcommand, each exporting register(program).
import { Command } from 'commander';
import { register as registerVerify } from './verify.js';
import { register as registerTest } from './test.js';
import { register as registerExpand } from './expand.js';
import { register as registerSync } from './sync.js';
import { register as registerBench } from './bench.js';
import { register as registerWebhook } from './webhook.js';
import { register as registerAudit } from './audit.js';
import { register as registerRun } from './run.js';

const program = new Command();
program.name('gatekeeper').description('Policy engine in the mould of OPA Gatekeeper').showHelpAfterError();
registerVerify(program);
registerTest(program);
registerExpand(program);
registerSync(program);
registerBench(program);
registerWebhook(program);
registerAudit(program);
registerRun(program);

// gator's flag parser (pflag) reads `-o=yaml` as `-o yaml`; commander would take "=yaml" as the value.
const argv = process.argv.flatMap((a) => (/^-[A-Za-z]=/.test(a) ? [a.slice(0, 2), a.slice(3)] : [a]));
program.parseAsync(argv).catch((e: Error) => {
  console.error(`gatekeeper: ${e.message}`);
  process.exit(2);
});
