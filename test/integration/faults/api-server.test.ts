// kube-apiserver SIGKILLed and started again, while trustgate only watches and while a
// revocation is half done (its pod deletions held at the fault proxy, released after the
// restart). On the sandbox, whose store lives in its one process and cannot survive a
// restart, the proxy plays the crash: watches cut, every new request from trustgate
// refused at the connection for as long as a real restart takes, held requests kept.
import { describe, expect, it } from '@jest/globals';
import type { FaultRule } from '../../support/fault-proxy.ts';
import { getNode, waitFor } from '../operator/harness.ts';
import {
  createPool,
  drift,
  expectInvariants,
  recovery,
  report,
  useFaultFixture,
} from './support.ts';

/** About how long a real kube-apiserver restart takes here (the sandbox's outage). */
const EMULATED_OUTAGE_MS = 5_000;

const fixture = useFaultFixture('apicrash');

/** The crash: returns when the API server (or its stand-in) answers again. */
async function crashApiServer(holding: FaultRule[] = []): Promise<void> {
  const { env, proxy } = fixture;
  const controlPlane = env.cluster.controlPlane;
  if (controlPlane) return controlPlane.restartApiServer();
  proxy.setRules([{ drop: true }, ...holding]);
  env.cluster.sandbox?.dropWatches();
  await new Promise((r) => setTimeout(r, EMULATED_OUTAGE_MS));
  proxy.setRules(holding);
}

describe('kube-apiserver killed and restarted', () => {
  it('while trustgate watches: a drift written right after the restart is acted on', async () => {
    const { env, proxy, trustgate } = fixture;
    const pool = await createPool(env, 'watching', 3, 2);
    await crashApiServer();
    const back = Date.now();
    const drifted = [pool.nodes[0] as string];
    await drift(env, drifted);
    const ms = await recovery(env, pool, drifted, back);
    report(
      'apiserver-kill/watching',
      env.cluster.tier,
      ms,
      await expectInvariants(env, proxy, pool, drifted),
    );
    await waitFor(() => trustgate.ready().then(() => true), 'trustgate ready again');
  }, 180_000);

  it('while a revocation is half done: held deletions land once, the rest follow', async () => {
    const { env, proxy } = fixture;
    const pool = await createPool(env, 'revoking', 2, 8);
    // The second node is a bystander: still trusted, its pods untouched (the invariants).
    const node = pool.nodes[0] as string;
    // Three pod deletions pass, then the proxy holds the rest.
    const holdAfter3: FaultRule = {
      method: 'DELETE',
      path: new RegExp(`^/api/v1/namespaces/${env.ns}/pods/[^/]+$`),
      delayMs: (nth) => (nth < 3 ? 0 : 600_000),
    };
    proxy.setRules([holdAfter3]);
    await drift(env, [node]);
    await waitFor(async () => {
      const n = await getNode(env, node);
      const phase = JSON.parse(n.metadata.annotations?.['trustgate.dev/revocation'] ?? '{}')[
        pool.policy
      ]?.phase;
      return phase === 'revoking' && (proxy.matched()[0] ?? 0) > 3;
    }, 'revocation under way, deletions held');
    const held: FaultRule = { ...holdAfter3, delayMs: 600_000 };
    await crashApiServer([held]);
    const back = Date.now();
    proxy.setRules([]);
    proxy.release();
    const ms = await recovery(env, pool, [node], back);
    const counts = await expectInvariants(env, proxy, pool, [node]);
    expect(counts.removals).toBe(8);
    report('apiserver-kill/revoking', env.cluster.tier, ms, counts);
  }, 180_000);
});
