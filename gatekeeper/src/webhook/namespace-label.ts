// /v1/admitlabel: only exempt namespaces may carry admission.gatekeeper.sh/ignore (Gatekeeper's namespacelabel handler).
import { allowedResponse, deniedResponse, type AdmissionRequest, type AdmissionResponse } from './admission-review.js';
import type { NamespaceExemptions } from './namespaces.js';

export const IGNORE_LABEL = 'admission.gatekeeper.sh/ignore';
const ONLY_EXEMPT = `Only exempt namespace can have the ${IGNORE_LABEL} label`;

export function checkNamespaceLabel(req: AdmissionRequest, exemptions: NamespaceExemptions): AdmissionResponse {
  if (req.kind.group !== '' || req.kind.kind !== 'Namespace') return allowedResponse(req.uid, undefined, ONLY_EXEMPT);
  if (req.operation === 'DELETE') return allowedResponse(req.uid, undefined, 'Delete is always allowed');
  const obj = req.object;
  const labels = obj?.metadata?.labels;
  if (!labels || typeof labels !== 'object' || !(IGNORE_LABEL in labels)) return allowedResponse(req.uid, undefined, ONLY_EXEMPT);
  const name = obj?.metadata?.name || req.name;
  if (exemptions.isExempt(name)) return allowedResponse(req.uid, undefined, ONLY_EXEMPT);
  return deniedResponse(req.uid, ONLY_EXEMPT);
}
