// Kubernetes' CEL libraries (k8s.io/apiserver/pkg/cel/library) this engine provides, and cel-go's ext sets and lists.
import type { CelFunc } from '@bufbuild/cel';
import { extListFuncs } from './extlists.js';
import { listFuncs } from './lists.js';
import { networkFuncs } from './network.js';
import { quantityFuncs } from './quantity.js';
import { regexFuncs } from './regex.js';
import { semverFuncs } from './semver.js';
import { setFuncs } from './sets.js';
import { urlFuncs } from './urls.js';

export { opaqueRegistry } from './opaque.js';
export { useOperatorsOf } from './operators.js';
export const kubernetesLibraries: CelFunc[] = [...listFuncs, ...extListFuncs, ...regexFuncs, ...setFuncs, ...quantityFuncs, ...networkFuncs, ...semverFuncs, ...urlFuncs];
