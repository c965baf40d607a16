// `gatekeeper expand` as `gator expand`: every input object expanded by the ExpansionTemplates among the inputs; the
// resultant resources printed (YAML documents, or indented JSON, separated by ---) or written to --outputfile.
import fs from 'node:fs';
import { Command, Option } from 'commander';
import YAML from 'yaml';
import { expanderFor } from '../expansion/expansion.js';
import { readInputs } from './inputs.js';
import { collect } from './engine-options.js';
import { sortedKeys } from './test-output.js';

interface ExpandFlags {
  filename: string[];
  format: 'yaml' | 'json';
  outputfile?: string;
}

/** gator's order: name + apiVersion + kind, descending. */
const sortKey = (o: Record<string, any>) => `${o.metadata?.name ?? ''}${o.apiVersion ?? ''}${o.kind ?? ''}`;

export function register(program: Command): void {
  program
    .command('expand')
    .description('expand generator resources (Deployments, CronJobs, ...) with the ExpansionTemplates among the inputs and print the resources they imply, as gator expand')
    .argument('[paths...]', 'files or folders of YAML/JSON, like -n (standard input is read too unless it is a terminal or /dev/null)')
    .option('-n, --filename <path>', 'a file or folder of Kubernetes resources; repeatable', collect, [])
    .addOption(new Option('-f, --format <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('-o, --outputfile <file>', 'write the output there (overwritten) instead of standard output')
    .action(async (paths: string[], flags: ExpandFlags) => {
      try {
        const objects = (await readInputs([...flags.filename, ...paths])).map((o) => o.obj);
        if (!objects.length) throw new Error('no input data identified');
        let resultants: Array<Record<string, any>>;
        try {
          const expander = expanderFor(objects);
          resultants = objects.flatMap((o) => expander.expand(o).map((r) => r.obj));
        } catch (e) {
          throw new Error(`error expanding resources: ${(e as Error).message}`);
        }
        resultants.sort((a, b) => (sortKey(a) > sortKey(b) ? -1 : sortKey(a) < sortKey(b) ? 1 : 0));
        const output = resultants.map((r) => (flags.format === 'json' ? JSON.stringify(sortedKeys(r), null, 4) : YAML.stringify(sortedKeys(r)))).join('---\n');
        if (flags.outputfile) {
          console.log(`Writing output to file: ${flags.outputfile}`);
          fs.writeFileSync(flags.outputfile, output);
        } else {
          console.log(output);
        }
      } catch (e) {
        console.error((e as Error).message);
        process.exitCode = 1;
      }
    });
}
