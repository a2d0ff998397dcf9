// A slow, lossy API server during a 50-node drift: the fault proxy holds every request
// from trustgate for a while and drops some connections outright (watches included). All
// 50 nodes must end tainted with their pods removed once; nothing lost, nothing twice.
// The fault lives in the proxy, so it is the same on every tier.
import { describe, it } from '@jest/globals';
import {
  createPool,
  drift,
  expectInvariants,
  recovery,
  report,
  useFaultFixture,
} from './support.ts';

const NODES = 50;
const LATENCY_MS = 150;
/** Every DROP_EVERY-th request's connection is cut before it reaches the API server. */
const DROP_EVERY = 8;

const fixture = useFaultFixture('slow');

describe('a slow API server that drops connections', () => {
  it(`revokes a ${NODES}-node drift once each`, async () => {
    const { env, proxy } = fixture;
    const pool = await createPool(env, 'slow', NODES + 1, 1);
    const drifted = pool.nodes.slice(0, NODES); // the last one stays trusted
    proxy.setRules([{ delayMs: LATENCY_MS, drop: (nth) => nth % DROP_EVERY === DROP_EVERY - 1 }]);
    const start = Date.now();
    await drift(env, drifted);
    const ms = await recovery(env, pool, drifted, start);
    const dropped = proxy.requests().filter((r) => r.dropped).length;
    proxy.setRules([]);
    const counts = await expectInvariants(env, proxy, pool, drifted);
    report('slow-api', env.cluster.tier, ms, counts);
    process.stderr.write(`  connections dropped: ${dropped}\n`);
  }, 180_000);
});
