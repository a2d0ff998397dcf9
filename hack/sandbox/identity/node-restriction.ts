// kube's NodeRestriction admission plugin, the parts trustgate depends on: a kubelet may
// only touch its own Node (and never its taints), pods bound to it, its own Lease, and
// may only request service-account tokens bound to a pod scheduled on it. Pure: reads the
// store, returns the 403 (or 404) kube would, or null to admit.
import type { AdmissionAttributes } from '../admission.ts';
import { errors, groupResource, type StatusError } from '../errors.ts';
import type { KubeObject, StoreReader } from '../types.ts';
import { nodeNameOf } from './node-identity.ts';

const PODS = { group: '', resource: 'pods' };

/** kube's admission.NewForbidden: `<resource> "<name>" is forbidden: <why>`. */
export function admissionForbidden(attrs: AdmissionAttributes, why: string): StatusError {
  const { group, resource } = attrs.resource;
  const name = attrs.name || attrs.object?.metadata?.name || '';
  const gr = groupResource(group, resource);
  const message = name ? `${gr} "${name}" is forbidden: ${why}` : `${gr} is forbidden: ${why}`;
  return errors.forbidden(message, { name, group, kind: resource });
}

const nodeNameOfPod = (pod: KubeObject | null | undefined) =>
  ((pod?.spec ?? {}) as { nodeName?: string }).nodeName ?? '';

function admitPod(
  node: string,
  attrs: AdmissionAttributes,
  store: StoreReader,
): StatusError | null {
  const existing = attrs.oldObject ?? store.get(PODS, attrs.namespace, attrs.name);
  switch (attrs.subResource) {
    case '':
      if (attrs.operation === 'CREATE') {
        const mirror = attrs.object?.metadata?.annotations?.['kubernetes.io/config.mirror'];
        if (mirror === undefined) {
          return admissionForbidden(
            attrs,
            `pod does not have "kubernetes.io/config.mirror" annotation, node "${node}" can only create mirror pods`,
          );
        }
        if (nodeNameOfPod(attrs.object) !== node) {
          return admissionForbidden(
            attrs,
            `node "${node}" can only create pods with spec.nodeName set to itself`,
          );
        }
        return null;
      }
      if (attrs.operation === 'DELETE' && nodeNameOfPod(existing) !== node) {
        return admissionForbidden(
          attrs,
          `node "${node}" can only delete pods with spec.nodeName set to itself`,
        );
      }
      return null;
    case 'status':
      if (nodeNameOfPod(existing) !== node) {
        return admissionForbidden(
          attrs,
          `node "${node}" can only update pod status for pods with spec.nodeName set to itself`,
        );
      }
      return null;
    case 'eviction':
      if (nodeNameOfPod(existing) !== node) {
        return admissionForbidden(
          attrs,
          `node "${node}" can only evict pods with spec.nodeName set to itself`,
        );
      }
      return null;
    default:
      return admissionForbidden(
        attrs,
        `unexpected operation ${attrs.operation}, subresource ${attrs.subResource}`,
      );
  }
}

function admitNode(node: string, attrs: AdmissionAttributes): StatusError | null {
  const target = attrs.name || attrs.object?.metadata?.name || '';
  if (target !== node) {
    return admissionForbidden(attrs, `node "${node}" is not allowed to modify node "${target}"`);
  }
  if (attrs.operation === 'UPDATE' && attrs.object && attrs.oldObject) {
    const taints = (o: KubeObject) =>
      JSON.stringify((o.spec as { taints?: unknown[] })?.taints ?? []);
    if (taints(attrs.object) !== taints(attrs.oldObject)) {
      return admissionForbidden(attrs, `node "${node}" is not allowed to modify taints`);
    }
  }
  if (attrs.operation !== 'DELETE') {
    const before = attrs.oldObject?.metadata?.labels ?? {};
    const after = attrs.object?.metadata?.labels ?? {};
    const modified = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((k) => k.startsWith('node-restriction.kubernetes.io/') && before[k] !== after[k])
      .sort();
    if (modified.length > 0) {
      return admissionForbidden(attrs, `is not allowed to modify labels: ${modified.join(', ')}`);
    }
  }
  return null;
}

function admitTokenRequest(
  node: string,
  attrs: AdmissionAttributes,
  store: StoreReader,
): StatusError | null {
  if (attrs.operation !== 'CREATE') return null;
  const ref = ((attrs.object?.spec ?? {}) as { boundObjectRef?: Record<string, string> })
    .boundObjectRef;
  if (ref?.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name) {
    return admissionForbidden(attrs, 'node requested token not bound to a pod');
  }
  if (!ref?.uid) {
    return admissionForbidden(attrs, 'node requested token with a pod binding without a uid');
  }
  const pod = store.get(PODS, attrs.namespace, ref.name);
  if (!pod) return errors.notFound('', 'pods', ref.name);
  if (pod.metadata.uid !== ref.uid) {
    return admissionForbidden(
      attrs,
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  }
  if (nodeNameOfPod(pod) !== node) {
    return admissionForbidden(
      attrs,
      'node requested token bound to a pod scheduled on a different node',
    );
  }
  return null;
}

function admitLease(node: string, attrs: AdmissionAttributes): StatusError | null {
  if (attrs.namespace !== 'kube-node-lease') return null;
  const target = attrs.name || attrs.object?.metadata?.name || '';
  if (target !== node) {
    return admissionForbidden(
      attrs,
      'can only access node lease with the same name as the requesting node',
    );
  }
  return null;
}

/** NodeRestriction: null to admit, else the error to return. Non-node users pass through. */
export function nodeRestriction(
  attrs: AdmissionAttributes,
  store: StoreReader,
): StatusError | null {
  const node = nodeNameOf(attrs.userInfo);
  if (node === undefined) return null;
  const { group, resource } = attrs.resource;
  if (group === '' && resource === 'pods') return admitPod(node, attrs, store);
  if (group === '' && resource === 'nodes') return admitNode(node, attrs);
  if (group === '' && resource === 'serviceaccounts' && attrs.subResource === 'token') {
    return admitTokenRequest(node, attrs, store);
  }
  if (group === 'coordination.k8s.io' && resource === 'leases') return admitLease(node, attrs);
  return null;
}
