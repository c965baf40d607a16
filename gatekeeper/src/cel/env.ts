// The CEL environment every template is compiled in: CEL's standard functions and macros, ext strings, the cost
// meter's functions and the Kubernetes libraries (library/), with `matches` on RE2 (Go's regexp) through the same
// compiled-pattern cache as the Rego regex builtins.
import { celEnv, type CelEnv } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { re2 } from '../builtins/regex.js';
import { costFuncs } from './cost.js';
import { kubernetesLibraries, opaqueRegistry, useOperatorsOf } from './library/index.js';
import { twoVarFuncs } from './macros.js';

let shared: CelEnv | undefined;
useOperatorsOf(() => templateEnv());

export function templateEnv(): CelEnv {
  shared ??= celEnv({
    registry: opaqueRegistry,
    funcs: [...strings, ...kubernetesLibraries, ...twoVarFuncs, ...costFuncs],
    re2: {
      compile(pattern: string) {
        const re = re2('matches', pattern);
        return {
          test(text: string) {
            re.lastIndex = 0;
            return re.test(text);
          },
        };
      },
    },
  });
  return shared;
}
