// The fault proxy (test/support/fault-proxy.ts) that tests put between a process and the
// API server: it forwards with the caller's own identity, holds back or drops what a rule
// matches, and cuts open connections on demand.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadClusterAccess } from '../../operator/kube/kubeconfig.ts';
import { KubeClient } from '../../operator/kube/rest.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';

let cluster: TestCluster;
let proxy: FaultProxy;
let client: KubeClient;

beforeAll(async () => {
  cluster = await startTestCluster();
  proxy = await startFaultProxy({ kubeconfigPath: cluster.kubeconfigPath });
  client = new KubeClient(await loadClusterAccess(proxy.kubeconfigPath));
}, 60_000);

afterAll(async () => {
  client?.close();
  await proxy?.stop();
  await cluster?.stop();
});

describe('fault proxy', () => {
  it('forwards requests as the caller', async () => {
    proxy.setRules([]);
    // A bearer token passes in the caller's own header; a client certificate is presented
    // by the proxy, from the kubeconfig it fronts (TLS ends at the proxy).
    const list = await client.get<{ items: { metadata: { name: string } }[] }>(
      '/api/v1/namespaces',
    );
    expect(list.items.map((n) => n.metadata.name)).toContain('default');
  });

  it('holds back the requests a rule matches, by their index among its matches', async () => {
    proxy.setRules([
      { method: 'GET', path: /^\/api\/v1\/namespaces$/, delayMs: (nth) => (nth === 0 ? 0 : 400) },
    ]);
    const timed = async () => {
      const start = Date.now();
      await client.get('/api/v1/namespaces');
      return Date.now() - start;
    };
    await timed();
    expect(await timed()).toBeGreaterThanOrEqual(400);
    await client.get('/api/v1/namespaces/default'); // another path: not held
    expect(proxy.matched()).toEqual([2]);
  });

  it('drops the connections a rule says to', async () => {
    proxy.setRules([{ path: /^\/api\/v1\/namespaces\/default$/, drop: true }]);
    await expect(client.get('/api/v1/namespaces/default')).rejects.toThrow();
  });

  it('cuts open watches', async () => {
    proxy.setRules([]);
    const abort = new AbortController();
    let events = 0;
    const watching = client.watch('/api/v1/namespaces', {}, () => events++, abort.signal);
    const settled = watching.then(
      () => 'ended',
      () => 'failed',
    );
    for (let i = 0; i < 100 && events === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(events).toBeGreaterThan(0); // the initial ADDED events arrived through the proxy
    proxy.dropConnections();
    expect(['ended', 'failed']).toContain(await settled);
    abort.abort();
  });
});
