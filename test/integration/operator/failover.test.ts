// Leader failover and a kill -9 in the middle of a revocation, on `trustgate run` child
// processes started as the image starts them. The revocation is caught half-way by a
// fault proxy between the first process and the API server that holds back its pod
// deletions: the product runs unmodified.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type FaultProxy, startFaultProxy } from '../../support/fault-proxy.ts';
import type { TrustgateProcess } from '../../support/trustgate-process.ts';
import {
  attest,
  createGrant,
  createNode,
  createPod,
  createPolicy,
  createServiceAccount,
  type Env,
  getNode,
  podExists,
  policyObject,
  setup,
  startReplica,
  untrustedTaint,
  waitFor,
} from './harness.ts';

let env: Env;
beforeAll(async () => {
  env = await setup();
}, 60_000);
afterAll(async () => {
  await env?.stop();
});

const replica = (name: string, podName: string, kubeconfigPath?: string) =>
  startReplica(env, name, podName, kubeconfigPath);

const leads = async (p: TrustgateProcess) =>
  /^trustgate_leader 1$/m.test(await p.metrics().catch(() => ''));

describe('leadership', () => {
  it('a second instance takes over within 15 s when the leader dies without releasing', async () => {
    const policy = `p-${env.id}-lead`;
    await createPolicy(env, policyObject(env, policy));
    await createNode(env, `${policy}-n1`, policy);
    await attest(env, `${policy}-n1`);
    const name = `tg-lead-${env.id}`;
    const a = await replica(name, 'a');
    let b: TrustgateProcess | undefined;
    try {
      await a.ready();
      await waitFor(() => leads(a), 'a leads', 30_000);
      b = await replica(name, 'b');
      await b.ready();
      expect(await leads(b)).toBe(false);
      a.child.kill('SIGKILL');
      await a.exited();
      const killedAt = Date.now();
      const second = b;
      await waitFor(() => leads(second), 'b takes over', 15_000);
      expect(Date.now() - killedAt).toBeLessThan(15_000);
      // The new leader acts.
      await attest(env, `${policy}-n1`, { diskEncryption: false });
      await waitFor(
        async () => untrustedTaint(await getNode(env, `${policy}-n1`)),
        'new leader taints',
      );
    } finally {
      await a.stop();
      await b?.stop();
    }
  }, 90_000);

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
    // The first replica's pod deletions pass the proxy 4 at a time... then no more.
    const proxy: FaultProxy = await startFaultProxy({
      kubeconfigPath: env.cluster.kubeconfigPath,
      rules: [
        {
          method: 'DELETE',
          path: new RegExp(`^/api/v1/namespaces/${env.ns}/pods/[^/]+$`),
          delayMs: (nth) => (nth < 4 ? 0 : 600_000),
        },
        {
          method: 'POST',
          path: /\/pods\/[^/]+\/eviction$/,
          delayMs: (nth) => (nth < 4 ? 0 : 600_000),
        },
      ],
    });
    const name = `tg-kill-${env.id}`;
    const first = await replica(name, 'first', proxy.kubeconfigPath);
    let second: TrustgateProcess | undefined;
    try {
      await waitFor(
        async () =>
          (await getNode(env, node)).metadata.labels?.[`trust.trustgate.dev/${policy}`] === 'true',
        'first operator labels the node',
        // A cold child process (module load, list, signature check) on a loaded CI machine.
        45_000,
      );
      await attest(env, node, { diskEncryption: false });
      // Wait until the intent is recorded and some pods are gone; the rest are held.
      await waitFor(
        async () => {
          const n = await getNode(env, node);
          const record = JSON.parse(n.metadata.annotations?.['trustgate.dev/revocation'] ?? '{}');
          if (record[policy]?.phase !== 'revoking') return false;
          const gone = (await Promise.all(pods.map((p) => podExists(env, p)))).filter((e) => !e);
          return gone.length >= 4;
        },
        'revocation under way',
        45_000,
      );
      first.child.kill('SIGKILL');
      await first.exited();
      const remaining = (await Promise.all(pods.map((p) => podExists(env, p)))).filter(
        Boolean,
      ).length;
      expect(remaining).toBeGreaterThan(0); // really interrupted mid-way
      second = await replica(name, 'second');
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
      await first.stop();
      await second?.stop();
      await proxy.stop();
    }
  }, 150_000);
});
