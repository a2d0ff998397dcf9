// Least privilege at the wire: trustgate watches Secrets cluster-wide only to find legacy
// service-account token Secrets, and asks the API server for that type alone, so no other
// Secret's data ever reaches its process. A fault proxy between `trustgate run` and the
// API server keeps the bodies of every Secret list and watch it answers.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { resourcePath } from '../../../operator/kube/rest.ts';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.ts';
import type { TrustgateProcess } from '../../support/trustgate-process.ts';
import {
  createServiceAccount,
  type Env,
  setup,
  startReplica,
  waitFor,
} from '../operator/harness.ts';

const TOKEN_TYPE = 'kubernetes.io/service-account-token';
let env: Env;
let proxy: FaultProxy;
let trustgate: TrustgateProcess | undefined;

beforeAll(async () => {
  env = await setup();
  proxy = await startFaultProxy({
    kubeconfigPath: env.cluster.kubeconfigPath,
    recordBodies: /\/secrets$/,
  });
}, 60_000);

afterAll(async () => {
  await trustgate?.stop();
  await proxy?.stop();
  await env?.stop();
});

const secrets = (ns: string) => resourcePath({ version: 'v1', plural: 'secrets', namespace: ns });
const opaque = (name: string, marker: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  type: 'Opaque',
  stringData: { password: marker },
});
const legacyToken = (name: string, sa: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, annotations: { 'kubernetes.io/service-account.name': sa } },
  type: TOKEN_TYPE,
});

describe('the legacy token Secret watch', () => {
  it('never receives an Opaque Secret, listed before the start or written while it watches', async () => {
    const before = `marker-before-${env.id}`;
    const during = `marker-during-${env.id}`;
    await createServiceAccount(env, 'legacy');
    await env.client.create(secrets(env.ns), opaque('app-before', before));
    await env.client.create(secrets(env.ns), legacyToken('legacy-before', 'legacy'));

    trustgate = await startReplica(env, `tg-sec-${env.id}`, 'sec', proxy.kubeconfigPath, [
      '--leader-elect=false',
    ]);
    await trustgate.ready();
    const clusterWide = () => proxy.requests().filter((r) => r.path === '/api/v1/secrets');
    await waitFor(
      () => clusterWide().some((r) => r.body()?.includes('legacy-before')),
      'the listed token Secret',
    );
    // Written in this order: once the later token Secret has arrived on the watch, an
    // Opaque one sent by the server would have arrived before it.
    await env.client.create(secrets(env.ns), opaque('app-during', during));
    await env.client.create(secrets(env.ns), legacyToken('legacy-during', 'legacy'));
    await waitFor(
      () => clusterWide().some((r) => r.query.get('watch') && r.body()?.includes('legacy-during')),
      'the watched token Secret',
    );

    expect(clusterWide().length).toBeGreaterThanOrEqual(2); // a list and a watch
    for (const r of clusterWide()) {
      expect(r.query.get('fieldSelector')).toBe(`type=${TOKEN_TYPE}`);
    }
    const received = proxy
      .requests()
      .filter((r) => r.path.endsWith('/secrets'))
      .map((r) => r.body() ?? '')
      .join('\n');
    for (const marker of [before, during]) {
      expect(received).not.toContain(Buffer.from(marker).toString('base64'));
      expect(received).not.toContain(marker);
    }
    expect(received).not.toContain('app-before');
    expect(received).not.toContain('app-during');
  }, 90_000);
});
