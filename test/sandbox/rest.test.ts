// REST semantics every client relies on, checked through client-node and raw HTTPS.
// Runs against the sandbox, or unchanged against a real cluster (test/support/cluster.ts).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { createNamespace, startTestCluster, type TestCluster } from '../support/cluster.ts';
import { eventually, rawRequest, uniqueName } from './support.ts';

let cluster: TestCluster;
let core: CoreV1Api;
const ns = uniqueName('rest');

const status = async (p: Promise<unknown>) => {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
};

beforeAll(async () => {
  cluster = await startTestCluster();
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  // Its pods use the default ServiceAccount: wait for it.
  await createNamespace(cluster, ns);
  const crds = await cluster.kubectl(['apply', '-f', 'crds/']);
  expect(crds.code).toBe(0);
  const wait = await cluster.kubectl([
    'wait',
    '--for',
    'condition=established',
    '--timeout=20s',
    'crd',
    '--all',
  ]);
  expect(wait.code).toBe(0);
}, 60_000);

afterAll(async () => {
  await core?.deleteNamespace({ name: ns }).catch(() => undefined);
  await cluster?.stop();
});

describe('object metadata and optimistic concurrency', () => {
  it('assigns uid, creationTimestamp and a new resourceVersion on every write', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'meta' }, data: { a: '1' } },
    });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.creationTimestamp).toBeDefined();
    // metav1.Time goes on the wire as RFC 3339 with whole seconds.
    const raw = await rawRequest(
      cluster.kubeConfig,
      'GET',
      `/api/v1/namespaces/${ns}/configmaps/meta`,
    );
    expect(raw.json.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const updated = await core.replaceNamespacedConfigMap({
      name: 'meta',
      namespace: ns,
      body: { ...created, data: { a: '2' } },
    });
    expect(updated.metadata?.resourceVersion).not.toBe(created.metadata?.resourceVersion);
    expect(updated.metadata?.uid).toBe(created.metadata?.uid);
    // A patch that changes nothing writes nothing: the version stays.
    const same = await core.patchNamespacedConfigMap(
      { name: 'meta', namespace: ns, body: { data: { a: '2' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(same.metadata?.resourceVersion).toBe(updated.metadata?.resourceVersion);
  });

  it('rejects an update carrying a stale resourceVersion with 409 Conflict', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'stale' }, data: { a: '1' } },
    });
    await core.replaceNamespacedConfigMap({
      name: 'stale',
      namespace: ns,
      body: { ...created, data: { a: '2' } },
    });
    const res = await rawRequest(
      cluster.kubeConfig,
      'PUT',
      `/api/v1/namespaces/${ns}/configmaps/stale`,
      JSON.stringify({ ...created, data: { a: '3' } }),
    );
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });
    expect(res.json.message).toBe(
      'Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  it('answers 409 AlreadyExists for a duplicate name and 404 NotFound for a missing one', async () => {
    const body = { metadata: { name: 'dup' } };
    await core.createNamespacedConfigMap({ namespace: ns, body });
    const dup = await rawRequest(
      cluster.kubeConfig,
      'POST',
      `/api/v1/namespaces/${ns}/configmaps`,
      JSON.stringify(body),
    );
    expect(dup.json).toMatchObject({
      reason: 'AlreadyExists',
      code: 409,
      message: 'configmaps "dup" already exists',
    });
    const missing = await rawRequest(
      cluster.kubeConfig,
      'GET',
      `/api/v1/namespaces/${ns}/configmaps/nope`,
    );
    expect(missing.json).toMatchObject({
      reason: 'NotFound',
      code: 404,
      message: 'configmaps "nope" not found',
    });
  });

  it('does not persist a dryRun=All create', async () => {
    const res = await rawRequest(
      cluster.kubeConfig,
      'POST',
      `/api/v1/namespaces/${ns}/configmaps?dryRun=All`,
      JSON.stringify({ metadata: { name: 'dry' } }),
    );
    expect(res.status).toBe(201);
    expect(await status(core.readNamespacedConfigMap({ name: 'dry', namespace: ns }))).toBe(404);
  });
});

describe('custom resources: generation and the status subresource', () => {
  const custom = () => cluster.kubeConfig.makeApiClient(CustomObjectsApi);
  const grant = (name: string) => ({
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'WorkloadGrant',
    metadata: { name },
    spec: { serviceAccountName: 'runner', policyRef: { name: 'p' } },
  });
  const path = (name: string) => ({
    group: 'trustgate.dev',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'workloadgrants',
    name,
  });

  it('bumps generation on spec changes only', async () => {
    const api = custom();
    const created = await api.createNamespacedCustomObject({ ...path(''), body: grant('gen') });
    expect(created.metadata.generation).toBe(1);
    const relabelled = await api.patchNamespacedCustomObject(
      { ...path('gen'), body: { metadata: { labels: { a: 'b' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(relabelled.metadata.generation).toBe(1);
    const respec = await api.patchNamespacedCustomObject(
      { ...path('gen'), body: { spec: { serviceAccountName: 'other' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(respec.metadata.generation).toBe(2);
  });

  it('ignores status on the main resource and everything but status on /status', async () => {
    const api = custom();
    await api.createNamespacedCustomObject({
      ...path(''),
      body: { ...grant('st'), status: { boundPods: 5 } },
    });
    const read = await api.getNamespacedCustomObject(path('st'));
    expect(read.status).toBeUndefined();
    const viaStatus = await api.patchNamespacedCustomObjectStatus(
      {
        ...path('st'),
        body: { spec: { serviceAccountName: 'changed' }, status: { observedGeneration: 1 } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(viaStatus.status).toEqual({ observedGeneration: 1 });
    expect(viaStatus.spec.serviceAccountName).toBe('runner');
    expect(viaStatus.metadata.generation).toBe(1);
  });

  it('refuses an unconditional update (no resourceVersion) of a custom resource', async () => {
    const api = custom();
    const created = await api.createNamespacedCustomObject({ ...path(''), body: grant('uncond') });
    const { resourceVersion: _, ...metadata } = created.metadata;
    const res = await rawRequest(
      cluster.kubeConfig,
      'PUT',
      `/apis/trustgate.dev/v1alpha1/namespaces/${ns}/workloadgrants/uncond`,
      JSON.stringify({ ...created, metadata }),
    );
    expect(res.status).toBe(422);
    expect(res.json.details.causes).toContainEqual(
      expect.objectContaining({ field: 'metadata.resourceVersion' }),
    );
  });

  it('rejects a schema-invalid custom resource with 422 and field causes', async () => {
    const body = grant('bad');
    body.spec.serviceAccountName = 'Not A Name';
    const res = await rawRequest(
      cluster.kubeConfig,
      'POST',
      `/apis/trustgate.dev/v1alpha1/namespaces/${ns}/workloadgrants`,
      JSON.stringify(body),
    );
    expect(res.status).toBe(422);
    expect(res.json.reason).toBe('Invalid');
    expect(res.json.details.causes).toContainEqual(
      expect.objectContaining({ field: 'spec.serviceAccountName' }),
    );
  });
});

describe('patches', () => {
  it('applies JSON merge, JSON patch and strategic merge patches to a ConfigMap', async () => {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: { name: 'patched', labels: { keep: 'yes', drop: 'yes' } },
        data: { a: '1' },
      },
    });
    const merged = await core.patchNamespacedConfigMap(
      {
        name: 'patched',
        namespace: ns,
        body: { metadata: { labels: { drop: null, added: 'x' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merged.metadata?.labels).toEqual({ keep: 'yes', added: 'x' });
    const jsonPatched = await core.patchNamespacedConfigMap(
      { name: 'patched', namespace: ns, body: [{ op: 'add', path: '/data/b', value: '2' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(jsonPatched.data).toEqual({ a: '1', b: '2' });
    const strategic = await core.patchNamespacedConfigMap(
      { name: 'patched', namespace: ns, body: { metadata: { finalizers: ['example.com/x'] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(strategic.metadata?.finalizers).toEqual(['example.com/x']);
    await core.patchNamespacedConfigMap(
      { name: 'patched', namespace: ns, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    // A JSON patch that does not apply is a 422 with kube's generic message, nothing else.
    for (const op of [
      { op: 'remove', path: '/data/nope' },
      { op: 'test', path: '/data/a', value: 'other' },
      { op: 'add', path: '/nope/x', value: '1' },
    ]) {
      const res = await rawRequest(
        cluster.kubeConfig,
        'PATCH',
        `/api/v1/namespaces/${ns}/configmaps/patched`,
        JSON.stringify([op]),
        { 'content-type': 'application/json-patch+json' },
      );
      expect(res.json).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'the server rejected our request due to an error in our request',
        reason: 'Invalid',
        details: {},
        code: 422,
      });
    }
  });

  it('replaces node taints whole (no merge key), merges addresses by type, new items first', async () => {
    const name = uniqueName('node');
    const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    await core.createNode({
      body: {
        metadata: { name },
        spec: {
          taints: [
            { key: 'a', effect: 'NoSchedule' },
            { key: 'b', effect: 'NoSchedule' },
          ],
        },
      },
    });
    try {
      // kube's NodeSpec.taints has no patchStrategy: a strategic merge patch replaces the list.
      const replaced = await core.patchNode(
        { name, body: { spec: { taints: [{ key: 'c', value: 'v', effect: 'NoExecute' }] } } },
        smp,
      );
      expect(replaced.spec?.taints).toEqual([{ key: 'c', value: 'v', effect: 'NoExecute' }]);
      // NodeStatus.addresses merges by type: a new item goes before what the patch left
      // alone, and $patch: delete removes one by its key.
      const status = (addresses: unknown[]) => ({ name, body: { status: { addresses } } });
      await core.patchNodeStatus(
        status([
          { type: 'InternalIP', address: '10.0.0.1' },
          { type: 'Hostname', address: name },
        ]),
        smp,
      );
      const added = await core.patchNodeStatus(
        status([{ type: 'ExternalIP', address: '192.0.2.1' }]),
        smp,
      );
      expect(added.status?.addresses?.map((a) => a.type)).toEqual([
        'ExternalIP',
        'InternalIP',
        'Hostname',
      ]);
      const removed = await core.patchNodeStatus(
        status([{ type: 'InternalIP', $patch: 'delete' }]),
        smp,
      );
      expect(removed.status?.addresses).toEqual([
        { type: 'ExternalIP', address: '192.0.2.1' },
        { type: 'Hostname', address: name },
      ]);
    } finally {
      await core.deleteNode({ name });
    }
  });

  it('merges a set of finalizers: new ones first, then the rest in stored order', async () => {
    const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
    const fin = (names: string[]) => names.map((n) => `example.com/${n}`);
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'finset', finalizers: fin(['x', 'y']) } },
    });
    try {
      const patch = (finalizers: string[]) =>
        core.patchNamespacedConfigMap(
          { name: 'finset', namespace: ns, body: { metadata: { finalizers } } },
          smp,
        );
      expect((await patch(fin(['z']))).metadata?.finalizers).toEqual(fin(['z', 'x', 'y']));
      expect((await patch(fin(['y', 'w']))).metadata?.finalizers).toEqual(
        fin(['z', 'x', 'y', 'w']),
      );
    } finally {
      await core.patchNamespacedConfigMap(
        { name: 'finset', namespace: ns, body: { metadata: { finalizers: null } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    }
  });
});

describe('lists', () => {
  const listNs = uniqueName('lists');
  // Every object this block makes carries `set`, and its lists select on it: a real
  // namespace also holds what controllers put there (kube-root-ca.crt, from
  // kube-controller-manager's root-CA publisher, a moment after the namespace).
  const set = { set: listNs };
  const inSet = `set=${listNs}`;
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: listNs } } });
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedConfigMap({
        namespace: listNs,
        body: {
          metadata: {
            name: `cm-${i}`,
            labels: { ...set, tier: i % 2 ? 'odd' : 'even', idx: String(i) },
          },
        },
      });
    }
    await core.createNamespacedConfigMap({
      namespace: listNs,
      body: { metadata: { name: 'plain', labels: set } },
    });
    await core.createNamespacedSecret({
      namespace: listNs,
      body: {
        metadata: { name: 'tls' },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': '', 'tls.key': '' },
      },
    });
  });
  afterAll(() => core.deleteNamespace({ name: listNs }).catch(() => undefined));

  const names = (items: V1ConfigMap[]) => items.map((i) => i.metadata?.name);

  it('filters by label selector (equality and set-based) and by field selector', async () => {
    const even = await core.listNamespacedConfigMap({
      namespace: listNs,
      labelSelector: 'tier=even',
    });
    expect(names(even.items)).toEqual(['cm-0', 'cm-2', 'cm-4', 'cm-6']);
    const set = await core.listNamespacedConfigMap({
      namespace: listNs,
      labelSelector: 'tier in (odd),idx notin (1,3)',
    });
    expect(names(set.items)).toEqual(['cm-5']);
    const exists = await core.listNamespacedConfigMap({
      namespace: listNs,
      labelSelector: `${inSet},!tier`,
    });
    expect(names(exists.items)).toEqual(['plain']);
    const byName = await core.listNamespacedConfigMap({
      namespace: listNs,
      fieldSelector: 'metadata.name=cm-3',
    });
    expect(names(byName.items)).toEqual(['cm-3']);
    const tls = await core.listNamespacedSecret({
      namespace: listNs,
      fieldSelector: 'type=kubernetes.io/tls',
    });
    expect(tls.items.map((s) => s.metadata?.name)).toEqual(['tls']);
  });

  it('rejects an unknown field selector and a malformed label selector with 400', async () => {
    const field = await rawRequest(
      cluster.kubeConfig,
      'GET',
      `/api/v1/namespaces/${listNs}/configmaps?fieldSelector=spec.nope%3Dx`,
    );
    expect(field.json).toMatchObject({ code: 400, reason: 'BadRequest' });
    const label = await rawRequest(
      cluster.kubeConfig,
      'GET',
      `/api/v1/namespaces/${listNs}/configmaps?labelSelector=a%20in%20(`,
    );
    expect(label.json).toMatchObject({ code: 400, reason: 'BadRequest' });
  });

  it('pages with limit and continue, every page from one resourceVersion', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    const versions = new Set<string | undefined>();
    do {
      const page = await core.listNamespacedConfigMap({
        namespace: listNs,
        labelSelector: inSet,
        limit: 3,
        _continue: token,
      });
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...(names(page.items) as string[]));
      versions.add(page.metadata?.resourceVersion);
      token = page.metadata?._continue;
      // A write between pages must not show up in later pages of the same list.
      if (seen.length === 3) {
        await core.createNamespacedConfigMap({
          namespace: listNs,
          body: { metadata: { name: 'cm-late', labels: set } },
        });
      }
    } while (token);
    expect(seen).toEqual(['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-5', 'cm-6', 'plain']);
    expect(versions.size).toBe(1);
  });
});

describe('pods: binding, eviction, graceful deletion', () => {
  const pod = (name: string) => ({
    metadata: { name },
    // A scheduler name no real scheduler answers to, so only the test binds it.
    spec: {
      schedulerName: 'trustgate-test-none',
      containers: [{ name: 'c', image: 'busybox:1.36' }],
    },
  });

  it('binds through pods/binding once, then answers 409', async () => {
    await core.createNamespacedPod({ namespace: ns, body: pod('bind-me') });
    await core.createNamespacedBinding({
      namespace: ns,
      body: { metadata: { name: 'bind-me' }, target: { kind: 'Node', name: 'node-a' } },
    });
    const bound = await core.readNamespacedPod({ name: 'bind-me', namespace: ns });
    expect(bound.spec?.nodeName).toBe('node-a');
    const again = await rawRequest(
      cluster.kubeConfig,
      'POST',
      `/api/v1/namespaces/${ns}/pods/bind-me/binding`,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: 'bind-me' },
        target: { kind: 'Node', name: 'node-b' },
      }),
    );
    expect(again.status).toBe(409);
    const selected = await core.listNamespacedPod({
      namespace: ns,
      fieldSelector: 'spec.nodeName=node-a',
    });
    expect(selected.items.map((p) => p.metadata?.name)).toEqual(['bind-me']);
    // A bound pod terminates gracefully: it stays, marked, until the grace period ends.
    await core.deleteNamespacedPod({ name: 'bind-me', namespace: ns });
    const terminating = await core.readNamespacedPod({ name: 'bind-me', namespace: ns });
    expect(terminating.metadata?.deletionTimestamp).toBeDefined();
    expect(terminating.metadata?.deletionGracePeriodSeconds).toBe(30);
    await core.deleteNamespacedPod({ name: 'bind-me', namespace: ns, gracePeriodSeconds: 0 });
    expect(await status(core.readNamespacedPod({ name: 'bind-me', namespace: ns }))).toBe(404);
  });

  it('removes a pod through the eviction subresource', async () => {
    await core.createNamespacedPod({ namespace: ns, body: pod('evict-me') });
    await core.createNamespacedPodEviction({
      name: 'evict-me',
      namespace: ns,
      body: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: 'evict-me', namespace: ns },
      },
    });
    await eventually(async () =>
      (await status(core.readNamespacedPod({ name: 'evict-me', namespace: ns }))) === 404
        ? true
        : undefined,
    );
  });
});

describe('finalizers and namespace deletion', () => {
  it('keeps an object with finalizers until the last one is removed', async () => {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } },
    });
    await core.deleteNamespacedConfigMap({ name: 'held', namespace: ns });
    const held = await core.readNamespacedConfigMap({ name: 'held', namespace: ns });
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    const adding = await rawRequest(
      cluster.kubeConfig,
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/held`,
      JSON.stringify({ metadata: { finalizers: ['example.com/hold', 'example.com/new'] } }),
      { 'content-type': 'application/merge-patch+json' },
    );
    expect(adding.status).toBe(422);
    await core.patchNamespacedConfigMap(
      { name: 'held', namespace: ns, body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(await status(core.readNamespacedConfigMap({ name: 'held', namespace: ns }))).toBe(404);
  });

  it("honours delete preconditions, refusing in kube's words on the kind", async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'pre' } },
    });
    const path = `/api/v1/namespaces/${ns}/configmaps/pre`;
    const otherUID = '00000000-0000-0000-0000-000000000000';
    const byUID = await rawRequest(
      cluster.kubeConfig,
      'DELETE',
      path,
      JSON.stringify({ preconditions: { uid: otherUID } }),
    );
    expect(byUID.status).toBe(409);
    expect(byUID.json).toMatchObject({ reason: 'Conflict', details: { kind: 'ConfigMap' } });
    expect(byUID.json.message).toBe(
      `Operation cannot be fulfilled on ConfigMap "pre": the UID in the precondition (${otherUID}) does not match the UID in record (${created.metadata?.uid}). The object might have been deleted and then recreated`,
    );
    const byVersion = await rawRequest(
      cluster.kubeConfig,
      'DELETE',
      path,
      JSON.stringify({ preconditions: { resourceVersion: '1' } }),
    );
    expect(byVersion.status).toBe(409);
    expect(byVersion.json.message).toBe(
      `Operation cannot be fulfilled on ConfigMap "pre": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record (${created.metadata?.resourceVersion}). The object might have been modified`,
    );
    const matching = await rawRequest(
      cluster.kubeConfig,
      'DELETE',
      path,
      JSON.stringify({ preconditions: { uid: created.metadata?.uid } }),
    );
    // A success Status: no message, no reason.
    expect(matching.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'pre', kind: 'configmaps', uid: created.metadata?.uid },
    });
  });

  it('deleting a namespace removes what is in it', async () => {
    const doomed = uniqueName('doomed');
    await core.createNamespace({ body: { metadata: { name: doomed } } });
    await core.createNamespacedConfigMap({ namespace: doomed, body: { metadata: { name: 'x' } } });
    await core.deleteNamespace({ name: doomed });
    const created = await rawRequest(
      cluster.kubeConfig,
      'POST',
      `/api/v1/namespaces/${doomed}/configmaps`,
      JSON.stringify({ metadata: { name: 'y' } }),
    );
    expect([403, 404]).toContain(created.status);
    await eventually(
      async () => ((await status(core.readNamespace({ name: doomed }))) === 404 ? true : undefined),
      30_000,
    );
  }, 40_000);
});
