// An in-memory StoreReader for unit tests of the identity and admission parts.
import { randomUUID } from 'node:crypto';
import type {
  KubeObject,
  ResourceRef,
  SandboxContext,
  StoreReader,
} from '../../../hack/sandbox/types.ts';

export class FakeStore implements StoreReader {
  private readonly objects = new Map<string, KubeObject>();

  private key(ref: ResourceRef, namespace: string | undefined, name: string): string {
    return `${ref.group}/${ref.resource}/${namespace ?? ''}/${name}`;
  }

  /** Stores a copy with a fresh uid (unless given); returns it. */
  put(ref: ResourceRef, obj: KubeObject): KubeObject {
    const stored: KubeObject = { ...obj, metadata: { uid: randomUUID(), ...obj.metadata } };
    this.objects.set(this.key(ref, stored.metadata.namespace, stored.metadata.name ?? ''), stored);
    return stored;
  }

  remove(ref: ResourceRef, namespace: string | undefined, name: string): void {
    this.objects.delete(this.key(ref, namespace, name));
  }

  get(ref: ResourceRef, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(this.key(ref, namespace, name));
  }

  list(ref: ResourceRef, namespace?: string): KubeObject[] {
    const prefix = `${ref.group}/${ref.resource}/`;
    return [...this.objects.entries()]
      .filter(
        ([k, o]) =>
          k.startsWith(prefix) && (namespace === undefined || o.metadata.namespace === namespace),
      )
      .map(([, o]) => o);
  }
}

export const R = {
  namespaces: { group: '', resource: 'namespaces' },
  nodes: { group: '', resource: 'nodes' },
  pods: { group: '', resource: 'pods' },
  secrets: { group: '', resource: 'secrets' },
  services: { group: '', resource: 'services' },
  serviceaccounts: { group: '', resource: 'serviceaccounts' },
  webhooks: { group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations' },
  crds: { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
};

export function fakeContext(
  store: FakeStore,
  overrides: Partial<SandboxContext> = {},
): SandboxContext {
  return {
    store,
    url: 'https://127.0.0.1:6443',
    caPem: '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n',
    ...overrides,
  };
}

export const pod = (
  namespace: string,
  name: string,
  spec: Record<string, unknown> = {},
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace, name },
  spec: { serviceAccountName: 'default', containers: [{ name: 'c', image: 'busybox' }], ...spec },
});
