// Kubernetes' CEL libraries (k8s.io/apiserver/pkg/cel/library) this engine provides, and cel-go's ext sets.
import type { CelFunc } from '@bufbuild/cel';
import { listFuncs } from './lists.js';
import { networkFuncs } from './network.js';
import { quantityFuncs } from './quantity.js';
import { regexFuncs } from './regex.js';
import { semverFuncs } from './semver.js';
import { setFuncs } from './sets.js';
import { urlFuncs } from './urls.js';

export { opaqueRegistry } from './opaque.js';
export { useOperatorsOf } from './operators.js';
export const kubernetesLibraries: CelFunc[] = [...listFuncs, ...regexFuncs, ...setFuncs, ...quantityFuncs, ...networkFuncs, ...semverFuncs, ...urlFuncs];
