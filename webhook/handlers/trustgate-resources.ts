// trustgate's own resources on CREATE and UPDATE: the checks the CRD schema cannot express
// (operator/api/semantic.ts: parseable JWKS with public keys, known algorithms, valid
// selectors, real times). A bad resource is refused as Invalid with field paths, in the
// shape the API server uses for its own validation errors.
import { semanticErrors, semanticWarnings } from '../../operator/api/semantic.ts';
import type { AdmissionCaches } from '../caches.ts';
import type { AdmissionRequest, Verdict } from '../codec.ts';
import { allow, deny } from '../codec.ts';
import { policyName } from './common.ts';

export async function admitTrustgateResource(
  req: AdmissionRequest,
  caches: AdmissionCaches,
  now: number,
): Promise<Verdict> {
  if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
  const object = req.object;
  const errors = await semanticErrors(object, { now: new Date(now) });
  const warnings = semanticWarnings(object, {
    now: new Date(now),
    // Before the caches sync a missing policy proves nothing; skip that warning.
    policy: caches.synced()
      ? (name) => caches.policies().find((p) => policyName(p) === name)
      : undefined,
  });
  if (errors.length === 0) return allow({ warnings });
  const kind = req.kind.kind;
  const name = req.name || 'the object';
  return deny(
    `${kind}.${req.kind.group} "${name}" is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join(', ')}`,
    {
      code: 422,
      statusReason: 'Invalid',
      causes: errors.map((e) => ({ field: e.field, reason: e.reason, message: e.message })),
      warnings,
      reasonCodes: [...new Set(errors.map((e) => e.reason))],
    },
  );
}
