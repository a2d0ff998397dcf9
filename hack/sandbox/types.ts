// Shared shapes of the sandbox control plane: the objects it stores, who is asking, and
// the read-only view of the store that the pluggable parts (tokens, admission) get.

/** Any Kubernetes object as stored: `metadata` is always present. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: unknown[];
  managedFields?: unknown[];
  [field: string]: unknown;
}

// The shapes AdmissionReview carries are the webhook codec's, so both ends agree.
export type { GroupVersionKind, GroupVersionResource, UserInfo } from '../../webhook/codec.ts';

/** Identifies one stored kind: "" for the core group. */
export interface ResourceRef {
  group: string;
  resource: string;
}

/** Read-only view of the store handed to tokens.ts and admission.ts (no writes, no I/O). */
export interface StoreReader {
  get(ref: ResourceRef, namespace: string | undefined, name: string): KubeObject | undefined;
  list(ref: ResourceRef, namespace?: string): KubeObject[];
}

/** What the plug-in parts of the sandbox may see. */
export interface SandboxContext {
  store: StoreReader;
  /** The sandbox's own https URL, e.g. the token issuer. */
  url: string;
  /** PEM of the CA that signed the sandbox's serving certificate. */
  caPem: string;
}
