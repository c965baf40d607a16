// `gatekeeper sync test` as `gator sync test`: do the SyncSets and the Config sync every GVK the templates'
// requires-sync-data annotations ask for (and does the GVKManifest say the cluster serves them)? Exit 1 when not.
import { Command } from 'commander';
import { describeMissing, syncTest } from '../sync/requirements.js';
import { collect } from './engine-options.js';
import { readInputs } from './inputs.js';

interface SyncTestFlags {
  filename: string[];
  forceOmitGvkManifest?: boolean;
}

export function register(program: Command): void {
  const sync = program.command('sync').description('referential data: check what the templates need synced');
  sync
    .command('test')
    .description('test that the SyncSet(s) and/or Config among the inputs sync the GVKs the templates require, as gator sync test')
    .argument('[paths...]', 'files or folders of YAML/JSON, like -n (standard input is read too unless it is a terminal or /dev/null)')
    .option('-n, --filename <path>', 'a file or folder of Kubernetes resources; repeatable', collect, [])
    .option('-f, --force-omit-gvk-manifest', 'do not require a GVKManifest: assume the cluster serves every synced GVK')
    .action(async (paths: string[], flags: SyncTestFlags) => {
      try {
        const objects = (await readInputs([...flags.filename, ...paths])).map((o) => o.obj);
        if (!objects.length) throw new Error('no input data identified');
        let result: ReturnType<typeof syncTest>;
        try {
          result = syncTest(objects, !!flags.forceOmitGvkManifest);
        } catch (e) {
          throw new Error(`checking: ${(e as Error).message}`);
        }
        for (const n of result.notes) console.log(n);
        if (result.missing.size) throw new Error(`the following requirements were not met: \n${describeMissing(result.missing)}`);
        if (result.templateErrors.size) {
          throw new Error(`encountered errors parsing the following templates: \n${[...result.templateErrors].map(([t, e]) => `${t}:\n${e}\n`).join('')}`);
        }
      } catch (e) {
        console.error((e as Error).message);
        process.exitCode = 1;
      }
    });
}
