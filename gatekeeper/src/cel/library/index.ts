// Kubernetes' CEL libraries (k8s.io/apiserver/pkg/cel/library) this engine provides, and ext sets.
import type { CelFunc } from '@bufbuild/cel';

export const kubernetesLibraries: CelFunc[] = [];
