// Watch semantics: resume from a resourceVersion, 410 when it is too old, selector-aware
// event types, bookmarks (watch-list's initial-events-end), timeoutSeconds, and a
// client-node informer. Runs against the sandbox or a real cluster.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoreV1Api, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { eventually, rawRequest, readWatch, uniqueName } from './support.ts';

let cluster: TestCluster;
let core: CoreV1Api;
const ns = uniqueName('watch');
const cmPath = `/api/v1/namespaces/${ns}/configmaps`;

beforeAll(async () => {
  cluster = await startTestCluster({
    // A short history in the sandbox so "too old" is reachable; a real cluster compacts.
    watchHistory: 40,
    // Watch-list (sendInitialEvents) is beta and off by default in kube v1.33 alone (on in
    // v1.32, and from v1.34 on, like the v1.35 the sandbox reports): the real tier's
    // v1.33 kube-apiserver gets the gate turned on, so the test checks kube's own.
    apiServerFlags: ['--feature-gates=WatchList=true'],
  });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: ns } } });
}, 30_000);

afterAll(async () => {
  await core?.deleteNamespace({ name: ns }).catch(() => undefined);
  await cluster?.stop();
});

describe('watch', () => {
  it('resumes after a resourceVersion with the later events in order', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'w1' } },
    });
    const rv = created.metadata?.resourceVersion;
    await core.patchNamespacedConfigMap({
      name: 'w1',
      namespace: ns,
      body: [{ op: 'add', path: '/data', value: { a: '1' } }],
    });
    await core.deleteNamespacedConfigMap({ name: 'w1', namespace: ns });
    const events = await readWatch(
      cluster.kubeConfig,
      `${cmPath}?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dw1`,
      (evs) => evs.some((e) => e.type === 'DELETED'),
    );
    expect(events.map((e) => e.type)).toEqual(['MODIFIED', 'DELETED']);
    expect(events[0]?.object.data).toEqual({ a: '1' });
  });

  it('starts with the current state as ADDED events when no resourceVersion is given', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'w2' } } });
    const events = await readWatch(
      cluster.kubeConfig,
      `${cmPath}?watch=true&fieldSelector=metadata.name%3Dw2`,
      (evs) => evs.length >= 1,
    );
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w2' } } });
  });

  it('answers a resourceVersion older than its history with an ERROR event carrying 410', async () => {
    for (let i = 0; i < 50; i++) {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: `churn-${i}` } },
      });
    }
    const events = await readWatch(
      cluster.kubeConfig,
      `${cmPath}?watch=true&resourceVersion=1`,
      (evs) => evs.length >= 1,
    );
    expect(events[0]?.type).toBe('ERROR');
    expect(events[0]?.object).toMatchObject({ kind: 'Status', code: 410 });
    expect(['Expired', 'Gone']).toContain(events[0]?.object.reason);
  }, 30_000);

  it('turns label changes into ADDED and DELETED for a selector watch', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'sel' } },
    });
    const rv = created.metadata?.resourceVersion;
    await core.patchNamespacedConfigMap({
      name: 'sel',
      namespace: ns,
      body: [{ op: 'add', path: '/metadata/labels', value: { pick: 'me' } }],
    });
    await core.patchNamespacedConfigMap({
      name: 'sel',
      namespace: ns,
      body: [{ op: 'remove', path: '/metadata/labels' }],
    });
    const events = await readWatch(
      cluster.kubeConfig,
      `${cmPath}?watch=true&resourceVersion=${rv}&labelSelector=pick%3Dme`,
      (evs) => evs.length >= 2,
    );
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']);
  });

  it('ends the initial state of a watch-list with a bookmark', async () => {
    const watchList = `${cmPath}?watch=true&sendInitialEvents=true&fieldSelector=metadata.name%3Dw2`;
    const unmatched = await rawRequest(cluster.kubeConfig, 'GET', watchList);
    expect(unmatched.status).toBe(422);
    expect(unmatched.json.message).toBe(
      'ListOptions.meta.k8s.io "" is invalid: resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    );
    const events = await readWatch(
      cluster.kubeConfig,
      `${watchList}&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan`,
      (evs) => evs.some((e) => e.type === 'BOOKMARK'),
    );
    expect(events.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK']);
    expect(events[0]?.object.metadata.name).toBe('w2');
    const { annotations, resourceVersion } = events[1]?.object.metadata ?? {};
    expect(resourceVersion).toBeTruthy();
    expect(Object.keys(annotations).sort()).toEqual([
      'k8s.io/initial-events-end',
      'kubernetes.io/initial-events-list-blueprint',
    ]);
    expect(annotations['k8s.io/initial-events-end']).toBe('true');
    const blueprint = Buffer.from(
      annotations['kubernetes.io/initial-events-list-blueprint'],
      'base64',
    );
    expect(JSON.parse(blueprint.toString())).toEqual({
      kind: 'ConfigMapList',
      apiVersion: 'v1',
      metadata: {},
      items: null,
    });
  });

  it('sends a bookmark shortly before the watch times out', async () => {
    // kube's watch cache sends a bookmark 2 s before a watch's timeout (and about every
    // minute) once it has seen a version newer than what the watch has been sent: here,
    // a ConfigMap written after the watch opened.
    const list = await core.listNamespacedConfigMap({ namespace: ns, limit: 1 });
    const started = Date.now();
    const events = await readWatch(
      cluster.kubeConfig,
      `${cmPath}?watch=true&allowWatchBookmarks=true&timeoutSeconds=5&fieldSelector=metadata.name%3Dbm&resourceVersion=${list.metadata?.resourceVersion}`,
      () => false,
      20_000,
      () => core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'bm' } } }),
    );
    const elapsed = Date.now() - started;
    expect(events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'bm' } } });
    const rest = events.slice(1);
    expect(rest.length).toBeGreaterThan(0);
    for (const e of rest) {
      expect(e.type).toBe('BOOKMARK');
      expect(e.object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
      expect(e.object.metadata.resourceVersion).toBeTruthy();
    }
    // The stream ended on its timeout, not before the bookmark's moment.
    expect(elapsed).toBeGreaterThanOrEqual(4_500);
    expect(elapsed).toBeLessThan(15_000);
  }, 30_000);

  it('closes the stream after timeoutSeconds', async () => {
    const started = Date.now();
    const list = await core.listNamespacedConfigMap({ namespace: ns, limit: 1 });
    const events = await readWatch(
      cluster.kubeConfig,
      `${cmPath}?watch=true&timeoutSeconds=1&resourceVersion=${list.metadata?.resourceVersion}`,
      () => false,
      20_000,
    );
    expect(events.filter((e) => e.type !== 'BOOKMARK')).toEqual([]);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe('client-node informer', () => {
  it('sees adds, updates and deletes', async () => {
    const informer = makeInformer(
      cluster.kubeConfig,
      cmPath,
      () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'inf=yes' }),
      'inf=yes',
    );
    const seen: string[] = [];
    informer.on('add', (o: V1ConfigMap) => seen.push(`add:${o.metadata?.name}`));
    informer.on('update', (o: V1ConfigMap) => seen.push(`update:${o.metadata?.name}`));
    informer.on('delete', (o: V1ConfigMap) => seen.push(`delete:${o.metadata?.name}`));
    await informer.start();
    try {
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'inf', labels: { inf: 'yes' } } },
      });
      await eventually(() => (seen.includes('add:inf') ? true : undefined));
      await core.patchNamespacedConfigMap({
        name: 'inf',
        namespace: ns,
        body: [{ op: 'add', path: '/data', value: { x: 'y' } }],
      });
      await eventually(() => (seen.includes('update:inf') ? true : undefined));
      await core.deleteNamespacedConfigMap({ name: 'inf', namespace: ns });
      await eventually(() => (seen.includes('delete:inf') ? true : undefined));
      expect(seen).toEqual(['add:inf', 'update:inf', 'delete:inf']);
    } finally {
      await informer.stop();
    }
  });
});
