// The admissionregistration.k8s.io/v1 shapes the dispatcher reads, and the Status it returns.
import type { StatusDetails } from '../errors.ts';
import type { GroupVersionKind, GroupVersionResource } from '../types.ts';
import type { LabelSelector } from './selector.ts';

export interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  scope?: string;
}

export interface WebhookClientConfig {
  url?: string;
  service?: { namespace: string; name: string; path?: string; port?: number };
  /** base64 of a PEM bundle; empty means the system roots. */
  caBundle?: string;
}

export interface MatchCondition {
  name: string;
  expression: string;
}

export interface ValidatingWebhook {
  name: string;
  clientConfig: WebhookClientConfig;
  rules?: RuleWithOperations[];
  failurePolicy?: string;
  matchPolicy?: string;
  namespaceSelector?: LabelSelector;
  objectSelector?: LabelSelector;
  sideEffects?: string;
  timeoutSeconds?: number;
  admissionReviewVersions?: string[];
  matchConditions?: MatchCondition[];
}

/** A kube Status failure as the dispatcher hands it back (code, reason, message). */
export interface AdmissionStatus {
  code: number;
  message: string;
  reason?: string;
  details?: StatusDetails;
}

/** Which resource/kind a webhook is called with (differs from the request's under Equivalent). */
export interface Invocation {
  resource: GroupVersionResource;
  subResource: string;
  kind: GroupVersionKind;
}

/** A resource equivalent to the requested one (same storage, another group/version). */
export interface EquivalentResource {
  resource: GroupVersionResource;
  kind: GroupVersionKind;
}
