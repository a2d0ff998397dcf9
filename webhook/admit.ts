// Routes a decoded AdmissionRequest to its handler. Requests trustgate has no rule for are
// allowed: the webhook configuration decides what is sent here, not this table.
import { DEFAULT_API_SERVER_AUDIENCE } from '../operator/trust/index.ts';
import type { AdmissionCaches } from './caches.ts';
import { type AdmissionRequest, allow, type Verdict } from './codec.ts';
import { admitBinding } from './handlers/binding.ts';
import { admitPod } from './handlers/pods.ts';
import { admitTokenRequest } from './handlers/token-request.ts';
import { admitTrustgateResource } from './handlers/trustgate-resources.ts';

export const TRUSTGATE_GROUP = 'trustgate.dev';

export interface AdmissionConfig {
  /**
   * Audiences the API server gives a token that asks for none (its --api-audiences, by
   * default its service-account issuer). A TokenRequest reaches admission with them filled
   * in, and a pod's projected token without audience gets them; either way they count as
   * "the API server's default audience" when judged against a grant.
   */
  apiAudiences: string[];
}

export const DEFAULT_ADMISSION_CONFIG: AdmissionConfig = {
  apiAudiences: [DEFAULT_API_SERVER_AUDIENCE, 'https://kubernetes.default.svc'],
};

/** The handler a request goes to, as a short name for metrics and logs. */
export function routeOf(
  req: AdmissionRequest,
): 'pods' | 'bindings' | 'tokenrequests' | 'trustgate' | 'other' {
  const { group, resource } = req.resource;
  const sub = req.subResource;
  if (group === TRUSTGATE_GROUP && sub === '') return 'trustgate';
  if (group !== '') return 'other';
  if (resource === 'pods' && sub === '' && req.operation === 'CREATE') return 'pods';
  if (resource === 'pods' && sub === 'ephemeralcontainers' && req.operation === 'UPDATE')
    return 'pods';
  if (resource === 'pods' && sub === 'binding' && req.operation === 'CREATE') return 'bindings';
  if (resource === 'bindings' && sub === '' && req.operation === 'CREATE') return 'bindings';
  if (resource === 'serviceaccounts' && sub === 'token' && req.operation === 'CREATE')
    return 'tokenrequests';
  return 'other';
}

/**
 * The verdict on one request. Synchronous for pods, bindings and token requests (the hot
 * path); a Promise only for trustgate's own resources, whose JWKS checks import keys.
 */
export function admit(
  req: AdmissionRequest,
  caches: AdmissionCaches,
  now: number,
  config: AdmissionConfig = DEFAULT_ADMISSION_CONFIG,
): Verdict | Promise<Verdict> {
  switch (routeOf(req)) {
    case 'pods':
      return admitPod(req, caches, now, config.apiAudiences);
    case 'bindings':
      return admitBinding(req, caches, now);
    case 'tokenrequests':
      return admitTokenRequest(req, caches, now, config.apiAudiences);
    case 'trustgate':
      return admitTrustgateResource(req, caches, now);
    default:
      return allow();
  }
}
