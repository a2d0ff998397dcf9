// trustgate's webhook stalled past its timeout: the API server must fail closed for the
// requests the webhook governs (a pod in a governed namespace is refused with kube's
// deadline error), keep admitting what no policy governs, and admit again once the webhook
// answers. A TCP relay in front of the webhook port holds connections while stalled.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { FaultProxy } from '../../support/fault-proxy.ts';
import { type StallProxy, startStallProxy } from '../../support/stall-proxy.ts';
import { freePort, type TrustgateProcess } from '../../support/trustgate-process.ts';
import { createPod, type Env, setup, waitFor } from '../operator/harness.ts';
import { createPool, expectInvariants, report, startBehindProxy } from './support.ts';

const TIMEOUT_SECONDS = 1;
let env: Env;
let stall: StallProxy;
let proxy: FaultProxy;
let trustgate: TrustgateProcess;

beforeAll(async () => {
  env = await setup();
  const webhookPort = await freePort();
  stall = await startStallProxy(webhookPort);
  ({ proxy, trustgate } = await startBehindProxy(
    env,
    'stall',
    ['--manage-webhook-configuration=true', `--timeout-seconds=${TIMEOUT_SECONDS}`],
    { webhookPort, webhookUrl: `https://127.0.0.1:${stall.port}/validate` },
  ));
  await waitFor(async () => {
    const cfg = await env.client.get<{ webhooks?: { clientConfig?: { caBundle?: string } }[] }>(
      `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/tg-stall-${env.id}`,
    );
    return cfg.webhooks?.every((w) => w.clientConfig?.caBundle);
  }, 'webhook configuration registered');
}, 90_000);

afterAll(async () => {
  await trustgate?.stop();
  await proxy?.stop();
  await stall?.stop();
  await env?.stop();
});

/** The error the API server gives for a pod create, or undefined when admitted. */
const refusal = (name: string, node: string, sa = 'stall') =>
  createPod(env, name, node, sa).then(
    () => undefined,
    (err: Error) => err.message,
  );

describe('the webhook stalled past its timeout', () => {
  it('fails closed for governed pods, admits the rest, and recovers when unstalled', async () => {
    const pool = await createPool(env, 'stall', 1, 0);
    const node = pool.nodes[0] as string;
    // The API server applies a new webhook configuration a moment after it is written:
    // wait until trustgate is in the path (it denies a service account with no grant).
    let tries = 0;
    await waitFor(
      async () =>
        (await refusal(`ungranted-${tries++}`, node, 'default'))?.includes('WorkloadGrant'),
      'webhook in the API server path',
    );
    expect(await refusal('before', node)).toBeUndefined();

    stall.stall();
    const asked = Date.now();
    const denied = await refusal('during', node);
    expect(denied).toMatch(/context deadline exceeded|timeout/i);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(TIMEOUT_SECONDS * 1000);
    // What no policy governs is never sent to trustgate, stalled or not.
    await env.client.create('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `ungoverned-${env.id}` },
      spec: { containers: [{ name: 'c', image: 'registry.example/app:1' }] },
    });

    stall.unstall();
    const back = Date.now();
    let n = 0;
    await waitFor(
      async () => (await refusal(`after-${n++}`, node)) === undefined,
      'admitted after',
    );
    const ms = Date.now() - back;
    await env.client.delete(`/api/v1/namespaces/default/pods/ungoverned-${env.id}`);
    // Nothing was revoked: the node is still trusted, nothing removed or tainted.
    const counts = await expectInvariants(env, proxy, pool, []);
    report('webhook-stall', env.cluster.tier, ms, counts);
    process.stderr.write(`  refused with: ${denied}\n`);
  }, 90_000);
});
