import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Informer, type InformerOptions } from '../../../operator/kube/informer.ts';
import { KubeClient } from '../../../operator/kube/rest.ts';
import { FakeApiServer } from './fake-apiserver.ts';

const NODES = '/api/v1/nodes';
const node = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  spec: { podCIDR: '10.0.0.0/24' },
});

async function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type N = { metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string } };

describe('Informer', () => {
  let server: FakeApiServer;
  let client: KubeClient;
  let informer: Informer<N>;
  const seen: string[] = [];

  beforeEach(async () => {
    server = (await new FakeApiServer().start()).collection(NODES);
    client = new KubeClient(server.kubeConfig());
    seen.length = 0;
  });
  afterEach(async () => {
    await informer?.stop();
    client.close();
    await server.stop();
  });

  function makeInformer(extra: Partial<InformerOptions<N>> = {}) {
    informer = new Informer<N>({
      name: 'nodes',
      client,
      path: NODES,
      pageSize: 2,
      backoff: { initialMs: 20, maxMs: 200 },
      transform: (raw) => {
        const m = raw.metadata as {
          name: string;
          labels?: Record<string, string>;
          resourceVersion: string;
        };
        return { metadata: { name: m.name, labels: m.labels, resourceVersion: m.resourceVersion } };
      },
      indexes: { zone: (n) => (n.metadata.labels?.zone ? [n.metadata.labels.zone] : []) },
      ...extra,
    });
    informer.on({
      add: (n) => seen.push(`add ${n.metadata.name}`),
      update: (n) => seen.push(`update ${n.metadata.name}`),
      delete: (n) => seen.push(`delete ${n.metadata.name}`),
    });
    informer.start();
    return informer;
  }

  it('lists across pages, trims, indexes and follows the watch', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e'])
      server.put(NODES, node(n, { zone: n < 'c' ? 'z1' : 'z2' }));
    makeInformer();
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.size).toBe(5);
    expect(informer.get('a')).toEqual({
      metadata: { name: 'a', labels: { zone: 'z1' }, resourceVersion: expect.any(String) },
    });
    expect(
      informer
        .byIndex('zone', 'z2')
        .map((n) => n.metadata.name)
        .sort(),
    ).toEqual(['c', 'd', 'e']);
    await until(() => server.watcherCount === 1, 'watch');
    server.put(NODES, node('a', { zone: 'z2' }));
    server.remove(NODES, 'e');
    await until(() => seen.includes('delete e'), 'delete event');
    expect(
      informer
        .byIndex('zone', 'z2')
        .map((n) => n.metadata.name)
        .sort(),
    ).toEqual(['a', 'c', 'd']);
    expect(seen).toContain('update a');
  });

  it('re-lists after 410 Gone and reports what changed while away', async () => {
    server.put(NODES, node('keep'));
    server.put(NODES, node('change'));
    server.put(NODES, node('vanish'));
    makeInformer();
    await informer.waitForSync();
    await until(() => server.watcherCount === 1, 'watch');
    seen.length = 0;
    server.changeBehindTheBack(() => {
      server.put(NODES, node('change', { touched: 'yes' }));
      server.remove(NODES, 'vanish');
      server.put(NODES, node('new'));
    });
    await until(() => seen.length >= 3, 'synthetic events');
    expect(seen.sort()).toEqual(['add new', 'delete vanish', 'update change']);
    expect(informer.get('change')?.metadata.labels).toEqual({ touched: 'yes' });
    expect(informer.stats.gone).toBeGreaterThanOrEqual(1);
  });

  it('keeps retrying a failing list with backoff instead of giving up', async () => {
    server.fail({ status: 500 }, 3);
    server.put(NODES, node('a'));
    makeInformer();
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.stats.errors).toBe(3);
    expect(informer.get('a')).toBeDefined();
  });

  it('waits at least Retry-After on 429', async () => {
    server.fail({ status: 429, retryAfter: '1' });
    makeInformer();
    const started = Date.now();
    await informer.waitForSync();
    const lists = server.requests.filter((r) => r.method === 'GET' && !r.watch);
    expect(lists.length).toBe(2);
    // Not a timing assertion on speed: the client must not have come back before 1 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
  });

  it('re-establishes a silent watch after the inactivity timeout and misses nothing', async () => {
    makeInformer({ inactivityTimeoutMs: 300 });
    await informer.waitForSync();
    await until(() => server.watcherCount === 1, 'watch');
    server.goSilent();
    server.put(NODES, node('during-silence'));
    await new Promise((r) => setTimeout(r, 50));
    server.goSilent(false);
    await until(() => informer.get('during-silence') !== undefined, 'object after re-watch');
    expect(informer.stats.inactivityRestarts).toBeGreaterThanOrEqual(1);
  });

  it('resumes from its resourceVersion when the server drops the watch', async () => {
    makeInformer();
    await informer.waitForSync();
    await until(() => server.watcherCount === 1, 'watch');
    server.dropWatches();
    server.put(NODES, node('after-drop'));
    await until(() => informer.get('after-drop') !== undefined, 'object after drop');
    // Resumed by watching from a resourceVersion, not by a fresh list.
    expect(informer.stats.lists).toBe(1);
  });

  it('asks for bookmarks and a server timeout, and bookmarks keep it alive', async () => {
    server.bookmarkMs = 50;
    makeInformer({ inactivityTimeoutMs: 300 });
    await informer.waitForSync();
    await new Promise((r) => setTimeout(r, 700));
    const watch = server.requests.find((r) => r.watch);
    expect(watch?.query.get('allowWatchBookmarks')).toBe('true');
    expect(Number(watch?.query.get('timeoutSeconds'))).toBeGreaterThan(0);
    expect(informer.stats.inactivityRestarts).toBe(0);
    expect(informer.lastEventAge()).toBeLessThan(300);
    expect(informer.healthy()).toBe(true);
  });

  it('drops objects the transform filters out', async () => {
    server.put(NODES, node('wanted', { keep: 'y' }));
    server.put(NODES, node('unwanted'));
    makeInformer({
      transform: (raw: Record<string, unknown>) => {
        const m = raw.metadata as {
          name: string;
          labels?: Record<string, string>;
          resourceVersion: string;
        };
        return m.labels?.keep
          ? { metadata: { name: m.name, resourceVersion: m.resourceVersion } }
          : undefined;
      },
    });
    await informer.waitForSync();
    expect([...informer.list()].map((n) => n.metadata.name)).toEqual(['wanted']);
    await until(() => server.watcherCount === 1, 'watch');
    server.put(NODES, node('wanted'));
    await until(() => informer.get('wanted') === undefined, 'filtered update removes');
  });
});
