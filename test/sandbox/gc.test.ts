// Owner references: once an owner is deleted, the garbage collector deletes its
// dependents (kube-controller-manager on a real cluster, hack/sandbox/gc.ts on the
// sandbox). trustgate relies on it to remove its webhook configuration on uninstall.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isNotFound, KubeClient } from '../../operator/kube/rest.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { ensureNamespace } from '../support/namespace.ts';
import { eventually, uniqueName } from './support.ts';

let cluster: TestCluster;
let client: KubeClient;
const ns = uniqueName('gc');
const ROLES = '/apis/rbac.authorization.k8s.io/v1/clusterroles';
const WEBHOOKS = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

beforeAll(async () => {
  cluster = await startTestCluster();
  client = new KubeClient(cluster.kubeConfig);
  await ensureNamespace(client, ns);
});

afterAll(async () => {
  client?.close();
  await cluster?.stop();
});

async function clusterRole(name: string) {
  const created = await client.create<{ metadata: { uid: string } }>(ROLES, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name },
    rules: [],
  });
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    name,
    uid: created.metadata.uid,
  };
}

/** true once the object is gone; undefined (keep waiting) while it exists. */
const gone = (path: string) =>
  client.get(path).then(
    () => undefined,
    (err) => {
      if (isNotFound(err)) return true;
      throw err;
    },
  );

describe('garbage collection of dependents', () => {
  it('deletes cluster-scoped and namespaced dependents of a deleted cluster-scoped owner', async () => {
    const owner = await clusterRole(uniqueName('owner'));
    const webhook = uniqueName('owned');
    await client.create(WEBHOOKS, {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: webhook, ownerReferences: [owner] },
      webhooks: [],
    });
    await client.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owned', ownerReferences: [owner] },
    });
    await client.delete(`${ROLES}/${owner.name}`);
    await eventually(() => gone(`${WEBHOOKS}/${webhook}`), 30_000);
    await eventually(() => gone(`/api/v1/namespaces/${ns}/configmaps/owned`), 30_000);
  });

  it('keeps a dependent that another owner still holds, without the dangling reference', async () => {
    const first = await clusterRole(uniqueName('first'));
    const second = await clusterRole(uniqueName('second'));
    const path = `/api/v1/namespaces/${ns}/configmaps/shared`;
    await client.create(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'shared', ownerReferences: [first, second] },
    });
    await client.delete(`${ROLES}/${first.name}`);
    const refs = await eventually(async () => {
      const cm = await client.get<{ metadata: { ownerReferences?: { uid: string }[] } }>(path);
      const uids = (cm.metadata.ownerReferences ?? []).map((r) => r.uid);
      return uids.length === 1 ? uids : undefined;
    }, 30_000);
    expect(refs).toEqual([second.uid]);
    await client.delete(`${ROLES}/${second.name}`);
    await eventually(() => gone(path), 30_000);
  });
});
