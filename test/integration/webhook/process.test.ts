// `trustgate run` as a real process against the cluster: it becomes ready (caches synced,
// certificate loaded), serves metrics, holds the Lease, and on SIGTERM drains, releases the
// Lease and exits 0.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { freePort, setupWebhookEnv, type WebhookEnv, waitFor } from './env.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
let env: WebhookEnv;

beforeAll(async () => {
  env = await setupWebhookEnv();
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

it('becomes ready, leads, and shuts down gracefully on SIGTERM', async () => {
  const [webhookPort, metricsPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin/trustgate.js'),
      'run',
      '--kubeconfig',
      env.cluster.kubeconfigPath,
      '--namespace',
      env.system,
      '--bind-address',
      '127.0.0.1',
      '--webhook-port',
      String(webhookPort),
      '--metrics-port',
      String(metricsPort),
      '--webhook-url',
      `https://127.0.0.1:${webhookPort}/validate`,
      '--webhook-config-name',
      `trustgate-${env.id}`,
      '--service-name',
      `trustgate-${env.id}`,
      '--lease-name',
      `trustgate-${env.id}-leader`,
      '--controllers=false',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const get = (p: string) => fetch(`http://127.0.0.1:${metricsPort}${p}`);
  try {
    await waitFor(async () => (await get('/healthz')).status === 200, 'healthz', 30_000);
    await waitFor(async () => (await get('/readyz')).status === 200, 'readyz', 30_000);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toContain('# TYPE trustgate_admission_requests_total counter');
    expect(metrics).toContain('process_cpu_seconds_total');
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${env.system}/leases/trustgate-${env.id}-leader`;
    await waitFor(async () => {
      const lease = await env.client.get<{ spec: { holderIdentity?: string } }>(leasePath);
      return Boolean(lease.spec.holderIdentity);
    }, 'lease held');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lease = await env.client.get<{ spec: { holderIdentity?: string | null } }>(leasePath);
    expect(lease.spec.holderIdentity ?? '').toBe('');
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toMatch(/-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  } finally {
    child.kill('SIGKILL');
  }
}, 90_000);
