// Validating admission for the sandbox. Owned by H4: this is the stub H3 committed with
// the signature the request pipeline calls; H4 replaces the body (webhook dispatch over
// HTTPS with AdmissionReview v1).
import type {
  GroupVersionKind,
  GroupVersionResource,
  KubeObject,
  SandboxContext,
  UserInfo,
} from './types.ts';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** Everything an AdmissionReview v1 request carries, filled in by the request pipeline. */
export interface AdmissionAttributes {
  /** Unique per request; becomes request.uid. */
  uid: string;
  /** The kind/resource of the object being admitted (e.g. Binding, pods/binding). */
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  /** "" for the main resource, else "status", "binding", "eviction", "token", ... */
  subResource: string;
  /** As the client sent it (same as kind/resource here: the sandbox serves one version). */
  requestKind: GroupVersionKind;
  requestResource: GroupVersionResource;
  requestSubResource: string;
  /** Name of the object; for a create with generateName, the generated name. */
  name: string;
  /** "" for cluster-scoped resources. */
  namespace: string;
  operation: AdmissionOperation;
  userInfo: UserInfo;
  /** New object (CREATE, UPDATE); null for DELETE. For subresources, the subresource body. */
  object: KubeObject | null;
  /** Stored object before the change (UPDATE, DELETE; the parent object for subresources). */
  oldObject: KubeObject | null;
  dryRun: boolean;
  /** CreateOptions / UpdateOptions / DeleteOptions, as a typed object (apiVersion meta.k8s.io/v1). */
  options: KubeObject | null;
}

export interface AdmissionResult {
  allowed: boolean;
  /** On denial: the HTTP code and the full message the client sees (a Status). */
  status?: { code: number; message: string; reason?: string };
  /** Sent back to the client as `Warning: 299 - "<text>"` headers. */
  warnings: string[];
}

/**
 * Called by the pipeline for every create/update/delete (subresources included) after
 * defaulting and validation, before anything is persisted. Owned by H4.
 */
export async function runValidatingAdmission(
  _attrs: AdmissionAttributes,
  _ctx: SandboxContext,
): Promise<AdmissionResult> {
  return { allowed: true, warnings: [] };
}
