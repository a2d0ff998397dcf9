// etcd stopped for 20 s and started again, while a node's attestation goes stale: trustgate
// must taint the node and remove its pods, and no write it tries can land until storage
// is back. kube-apiserver v1.33 without etcd keeps answering reads from its watch cache
// and holds writes until etcd returns (or its request timeout). On the sandbox, which has
// no etcd, the fault proxy plays exactly that for the same 20 s: reads pass, writes wait.
import { describe, expect, it } from '@jest/globals';
import { attest, waitFor } from '../operator/harness.ts';
import { createPool, expectInvariants, recovery, report, useFaultFixture } from './support.ts';

const OUTAGE_MS = 20_000;
/** The stale node's attestation runs out this long into the outage. */
const STALE_AFTER_OUTAGE_START_MS = 8_000;
const MAX_AGE_S = 60;

const fixture = useFaultFixture('etcd');

describe('etcd stopped for 20 s', () => {
  it('a node going stale during the outage is revoked once storage is back, once', async () => {
    const { env, proxy } = fixture;
    const steady = await createPool(env, 'steady', 1, 2);
    const stale = await createPool(env, 'stale', 1, 4, { maxAge: `${MAX_AGE_S}s` });
    // Re-signed so it turns stale a few seconds into the outage, with nothing written then.
    const iatMs = Date.now() - MAX_AGE_S * 1000 + STALE_AFTER_OUTAGE_START_MS;
    // (Retried: trustgate writes the attestation's status too, a 409 on a stale version.)
    await waitFor(
      () => attest(env, stale.nodes[0] as string, {}, iatMs).then(() => true),
      'stale-soon attestation',
    );
    const staleAt = iatMs + MAX_AGE_S * 1000;
    const outageStart = Date.now();
    expect(staleAt).toBeGreaterThan(outageStart);
    const controlPlane = env.cluster.controlPlane;
    if (controlPlane) await controlPlane.stopEtcd();
    else proxy.setRules([{ method: 'GET' }, { delayMs: OUTAGE_MS * 10 }]);
    const during = proxy.requests().length;
    await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - outageStart)));
    expect(Date.now()).toBeGreaterThan(staleAt);
    // Recovery counts from the moment storage starts again (kube-apiserver reconnecting
    // to it is part of the recovery).
    const back = Date.now();
    const sentDuring = proxy.requests().slice(during);
    if (controlPlane) await controlPlane.startEtcd();
    else {
      proxy.setRules([]);
      proxy.release();
    }
    const ms = await recovery(env, stale, stale.nodes, back);
    const counts = await expectInvariants(env, proxy, stale, stale.nodes);
    await expectInvariants(env, proxy, steady, []);
    report('etcd-stop', env.cluster.tier, ms, counts);
    const outcomes = tally(sentDuring.map((r) => r.status ?? 'none'));
    process.stderr.write(
      `  requests sent during the outage, by final answer: ${JSON.stringify(outcomes)}\n`,
    );
  }, 180_000);
});

function tally(values: (number | string)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}
