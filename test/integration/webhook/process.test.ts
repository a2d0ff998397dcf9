// `trustgate run` as a real process against the cluster, started as the image starts it:
// it becomes ready (caches synced, certificate loaded), serves metrics (with the build it
// runs: TRUSTGATE_COMMIT as the image sets it), holds the Lease, and on SIGTERM drains,
// releases the Lease and exits 0.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { buildInfo } from '../../../operator/runtime/build-info.ts';
import { startTrustgateProcess } from '../../support/trustgate-process.ts';
import { setupWebhookEnv, type WebhookEnv, waitFor } from './env.ts';

let env: WebhookEnv;

beforeAll(async () => {
  env = await setupWebhookEnv();
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

it('becomes ready, leads, and shuts down gracefully on SIGTERM', async () => {
  const trustgate = await startTrustgateProcess({
    kubeconfigPath: env.cluster.kubeconfigPath,
    namespace: env.system,
    name: `trustgate-${env.id}`,
    args: ['--controllers=false'],
    env: { TRUSTGATE_COMMIT: 'c0ffee1' },
  });
  try {
    await waitFor(async () => (await trustgate.get('/healthz')).status === 200, 'healthz', 30_000);
    await trustgate.ready(30_000);
    const metrics = await trustgate.metrics();
    expect(metrics).toContain('# TYPE trustgate_admission_requests_total counter');
    expect(metrics).toContain('process_cpu_seconds_total');
    expect(metrics).toContain(
      `trustgate_build_info{version="${buildInfo().version}",commit="c0ffee1",node="${process.version}"} 1`,
    );
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${env.system}/leases/trustgate-${env.id}-leader`;
    await waitFor(async () => {
      const lease = await env.client.get<{ spec: { holderIdentity?: string } }>(leasePath);
      return Boolean(lease.spec.holderIdentity);
    }, 'lease held');
    trustgate.child.kill('SIGTERM');
    expect(await trustgate.exited()).toBe(0);
    const lease = await env.client.get<{ spec: { holderIdentity?: string | null } }>(leasePath);
    expect(lease.spec.holderIdentity ?? '').toBe('');
    expect(trustgate.output()).toContain('"msg":"stopped"');
    expect(trustgate.output()).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  } finally {
    await trustgate.stop();
  }
}, 90_000);
