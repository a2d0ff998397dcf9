// AdmissionReview request building and response checking, modelled on kube-apiserver's
// webhook request package (checked on the sandbox only). Pure: no I/O.
import type { AdmissionAttributes } from '../admission.ts';
import type { KubeObject } from '../types.ts';
import type { AdmissionStatus, Invocation } from './types.ts';

export const SUPPORTED_REVIEW_VERSIONS = ['v1', 'v1beta1'] as const;

/** The first AdmissionReview version the webhook accepts that we speak, kube's order. */
export function pickReviewVersion(accepted: string[] | undefined): string | undefined {
  return (accepted ?? []).find((v) => (SUPPORTED_REVIEW_VERSIONS as readonly string[]).includes(v));
}

/** Rewrites apiVersion when a webhook is called with an equivalent (other-version) kind. */
function versioned(obj: KubeObject | null, invocation: Invocation): KubeObject | null {
  if (!obj) return null;
  const { group, version, kind } = invocation.kind;
  const apiVersion = group ? `${group}/${version}` : version;
  if (obj.kind !== kind || obj.apiVersion === apiVersion) return obj;
  return { ...obj, apiVersion };
}

/** The AdmissionReview body POSTed to a webhook (field order and omissions after kube's). */
export function buildAdmissionReview(
  reviewVersion: string,
  uid: string,
  attrs: AdmissionAttributes,
  invocation: Invocation,
): Record<string, unknown> {
  const request: Record<string, unknown> = {
    uid,
    kind: invocation.kind,
    resource: invocation.resource,
  };
  if (invocation.subResource) request.subResource = invocation.subResource;
  request.requestKind = attrs.requestKind;
  request.requestResource = attrs.requestResource;
  if (attrs.requestSubResource) request.requestSubResource = attrs.requestSubResource;
  if (attrs.name) request.name = attrs.name;
  if (attrs.namespace) request.namespace = attrs.namespace;
  request.operation = attrs.operation;
  const userInfo: Record<string, unknown> = { username: attrs.userInfo.username };
  if (attrs.userInfo.uid) userInfo.uid = attrs.userInfo.uid;
  if (attrs.userInfo.groups.length > 0) userInfo.groups = attrs.userInfo.groups;
  if (attrs.userInfo.extra && Object.keys(attrs.userInfo.extra).length > 0) {
    userInfo.extra = attrs.userInfo.extra;
  }
  request.userInfo = userInfo;
  request.object = versioned(attrs.object, invocation);
  request.oldObject = versioned(attrs.oldObject, invocation);
  request.dryRun = attrs.dryRun;
  request.options = attrs.options;
  return { kind: 'AdmissionReview', apiVersion: `admission.k8s.io/${reviewVersion}`, request };
}

export interface WebhookVerdict {
  allowed: boolean;
  result?: Partial<AdmissionStatus> & { status?: string };
  warnings: string[];
}

/** Thrown when a response is not a valid AdmissionReview answer to our request. */
export class InvalidReviewResponse extends Error {}

/**
 * Checks a webhook's decoded response (apiVersion/kind, response present,
 * uid echoed, no patch from a validating webhook) and extracts the verdict.
 */
export function verifyAdmissionResponse(
  reviewVersion: string,
  uid: string,
  body: unknown,
): WebhookVerdict {
  const review = (body ?? {}) as Record<string, unknown>;
  const response = review.response as Record<string, unknown> | undefined | null;
  if (!response || typeof response !== 'object') {
    throw new InvalidReviewResponse('webhook response was absent');
  }
  if (response.uid !== uid) {
    throw new InvalidReviewResponse(
      `expected response.uid="${uid}", got "${String(response.uid ?? '')}"`,
    );
  }
  const expected = `admission.k8s.io/${reviewVersion}`;
  if (
    reviewVersion === 'v1' &&
    (review.apiVersion !== expected || review.kind !== 'AdmissionReview')
  ) {
    const [group = '', version = ''] = String(review.apiVersion ?? '/').split('/');
    throw new InvalidReviewResponse(
      `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${group}/${version}, Kind=${String(review.kind ?? '')}`,
    );
  }
  if (response.patch !== undefined || response.patchType !== undefined) {
    throw new InvalidReviewResponse(
      'validating webhook may not return response.patch or response.patchType',
    );
  }
  const warnings = Array.isArray(response.warnings)
    ? response.warnings.filter((w): w is string => typeof w === 'string')
    : [];
  const result =
    response.status && typeof response.status === 'object'
      ? (response.status as WebhookVerdict['result'])
      : undefined;
  return { allowed: response.allowed === true, result, warnings };
}

/**
 * The Status a denial becomes: the webhook's own code (400 or more, else 403), reason and
 * details, with kube's `admission webhook "<name>" denied the request` prefix.
 */
export function denialStatus(
  webhookName: string,
  result: WebhookVerdict['result'],
): AdmissionStatus {
  const deniedBy = `admission webhook "${webhookName}" denied the request`;
  const code = typeof result?.code === 'number' && result.code >= 400 ? result.code : 403;
  let message: string;
  if (result?.message) message = `${deniedBy}: ${result.message}`;
  else if (result?.reason) message = `${deniedBy}: ${result.reason}`;
  else message = `${deniedBy} without explanation`;
  const status: AdmissionStatus = { code, message };
  if (result?.reason) status.reason = result.reason;
  if (result?.details && typeof result.details === 'object') status.details = result.details;
  return status;
}
