// Leader failover and a kill -9 in the middle of a revocation.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { type ElectedOperator, startElectedOperator } from './elected-operator.ts';
import {
  attest,
  createGrant,
  createNode,
  createPod,
  createPolicy,
  createServiceAccount,
  type Env,
  getNode,
  NAMESPACE,
  podExists,
  policyObject,
  setup,
  untrustedTaint,
  waitFor,
} from './harness.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
let env: Env;
beforeAll(async () => {
  env = await setup();
}, 60_000);
afterAll(async () => {
  await env?.stop();
});

describe('leadership', () => {
  it('a second instance takes over within 15 s when the leader dies without releasing', async () => {
    const policy = `p-${env.id}-lead`;
    await createPolicy(env, policyObject(env, policy));
    await createNode(env, `${policy}-n1`, policy);
    await attest(env, `${policy}-n1`);
    const start = (identity: string) =>
      startElectedOperator({
        kubeConfig: env.cluster.kubeConfig,
        namespace: NAMESPACE,
        identity,
        leaseName: `lease-${env.id}`,
        logger: pino({ level: 'silent' }),
        leaseDurationMs: 3000,
        renewDeadlineMs: 2000,
        retryPeriodMs: 300,
      });
    const a: ElectedOperator = start('a');
    await waitFor(() => a.isLeader(), 'a leads');
    const b = start('b');
    await new Promise((r) => setTimeout(r, 1000));
    expect(b.isLeader()).toBe(false);
    await a.crash();
    const tookOverAt = Date.now();
    await waitFor(() => b.isLeader(), 'b takes over', 15_000);
    expect(Date.now() - tookOverAt).toBeLessThan(15_000);
    // The new leader acts.
    await attest(env, `${policy}-n1`, { diskEncryption: false });
    await waitFor(
      async () => untrustedTaint(await getNode(env, `${policy}-n1`)),
      'new leader taints',
    );
    expect(await b.registry.getSingleMetricAsString('trustgate_leader')).toContain(
      'trustgate_leader 1',
    );
    await b.shutdown();
  });

  it('finishes a revocation interrupted by kill -9 after a restart', async () => {
    const policy = `p-${env.id}-kill`;
    await createPolicy(env, policyObject(env, policy));
    const node = `${policy}-n1`;
    await createNode(env, node, policy);
    await createServiceAccount(env, 'batch');
    await createGrant(env, 'batch', 'batch', policy);
    await attest(env, node);
    const pods = Array.from({ length: 12 }, (_, i) => `batch-${i}`);
    for (const p of pods) await createPod(env, p, node, 'batch');
    const spawnOperator = (delayMs: number) =>
      spawn(process.execPath, [path.join(here, 'operator-main.ts')], {
        env: {
          ...process.env,
          KUBECONFIG: env.cluster.kubeconfigPath,
          TG_NAMESPACE: NAMESPACE,
          TG_LEASE: `lease-kill-${env.id}`,
          TG_POD_DELETE_DELAY_MS: String(delayMs),
          TG_LOG_LEVEL: 'silent',
          NODE_OPTIONS: '',
        },
        stdio: 'ignore',
      });
    const first = spawnOperator(400);
    await waitFor(
      async () =>
        (await getNode(env, node)).metadata.labels?.[`trust.trustgate.dev/${policy}`] === 'true',
      'first operator labels the node',
      // A cold child process (module load, list, signature check) on a loaded CI machine.
      45_000,
    );
    await attest(env, node, { diskEncryption: false });
    // Wait until the intent is recorded and some, not all, pods are gone; then kill -9.
    await waitFor(
      async () => {
        const n = await getNode(env, node);
        const record = JSON.parse(n.metadata.annotations?.['trustgate.dev/revocation'] ?? '{}');
        if (record[policy]?.phase !== 'revoking') return false;
        return !(await podExists(env, pods[0] as string));
      },
      'revocation under way',
      45_000,
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const remaining = (await Promise.all(pods.map((p) => podExists(env, p)))).filter(
      Boolean,
    ).length;
    expect(remaining).toBeGreaterThan(0); // really interrupted mid-way
    const second = spawnOperator(0);
    try {
      await waitFor(
        async () => (await Promise.all(pods.map((p) => podExists(env, p)))).every((e) => !e),
        'restarted operator removes the rest',
        30_000,
      );
      const n = await waitFor(async () => {
        const cur = await getNode(env, node);
        const record = JSON.parse(cur.metadata.annotations?.['trustgate.dev/revocation'] ?? '{}');
        return record[policy]?.phase === 'revoked' ? cur : undefined;
      }, 'revocation recorded as finished');
      expect(untrustedTaint(n)?.value).toBe(policy);
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  }, 150_000);
});
