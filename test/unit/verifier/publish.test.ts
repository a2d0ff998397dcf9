// The publish loop's timing with a fake clock: interval, backoff on errors, giving a node
// up after maxFailures, and the exit status (once: any node; looping: every node).
import { describe, expect, test } from '@jest/globals';
import {
  type PublishEvent,
  type PublishOptions,
  publishFailed,
  runPublisher,
} from '../../../operator/verifier/publish.ts';

/** Steps whose publish fails as `plan(node, call)` says, with sleeps recorded, not waited. */
function fakeSteps(plan: (node: string, call: number) => Error | undefined, stopAfterSleeps = 50) {
  const calls = new Map<string, number>();
  const sleeps: number[] = [];
  const stop = new AbortController();
  return {
    stop,
    sleeps,
    calls,
    steps: {
      async publish(node: string) {
        const n = (calls.get(node) ?? 0) + 1;
        calls.set(node, n);
        const err = plan(node, n);
        if (err) throw err;
      },
      async sleep(ms: number) {
        sleeps.push(ms);
        if (sleeps.length >= stopAfterSleeps) stop.abort();
      },
      random: () => 1, // no jitter: delays are exact
    },
  };
}

const opts = (o: Partial<PublishOptions> = {}): PublishOptions => ({
  nodes: ['n1'],
  intervalMs: 30_000,
  maxFailures: 5,
  initialBackoffMs: 1_000,
  ...o,
});

describe('runPublisher', () => {
  test('publishes every interval while it succeeds', async () => {
    const f = fakeSteps(() => undefined, 3);
    const events: PublishEvent[] = [];
    const out = await runPublisher(opts(), f.steps, (e) => events.push(e), f.stop.signal);
    expect(f.sleeps).toEqual([30_000, 30_000, 30_000]);
    expect(out).toEqual({ published: 3, gaveUp: [] });
    expect(events.every((e) => e.type === 'published')).toBe(true);
  });

  test('backs off exponentially up to the interval, and resets after a success', async () => {
    const f = fakeSteps((_n, call) => (call <= 3 || call === 5 ? new Error('boom') : undefined), 6);
    const o = opts({ intervalMs: 3_000, maxFailures: 10 });
    const events: PublishEvent[] = [];
    await runPublisher(o, f.steps, (e) => events.push(e), f.stop.signal);
    // 3 failures: 1s, 2s, then capped at the interval; a success; one failure: 1s again.
    expect(f.sleeps).toEqual([1_000, 2_000, 3_000, 3_000, 1_000, 3_000]);
    expect(events[0]).toEqual({
      type: 'failed',
      node: 'n1',
      failures: 1,
      retryInMs: 1_000,
      error: 'boom',
    });
  });

  test('gives a node up after maxFailures in a row; the others keep publishing', async () => {
    const f = fakeSteps((node) => (node === 'bad' ? new Error('no posture file') : undefined), 6);
    const o = opts({ nodes: ['good', 'bad'], maxFailures: 3 });
    const events: PublishEvent[] = [];
    const out = await runPublisher(o, f.steps, (e) => events.push(e), f.stop.signal);
    expect(f.calls.get('bad')).toBe(3);
    expect(out.gaveUp).toEqual([{ node: 'bad', failures: 3, error: 'no posture file' }]);
    expect(events).toContainEqual({
      type: 'gave-up',
      node: 'bad',
      failures: 3,
      error: 'no posture file',
    });
    expect(f.calls.get('good')).toBeGreaterThan(1);
    expect(publishFailed(o, out)).toBe(false); // 'good' is still served
  });

  test('every node given up ends the loop as a failure', async () => {
    const f = fakeSteps(() => new Error('Unauthorized'));
    const o = opts({ nodes: ['a', 'b'], maxFailures: 2 });
    const out = await runPublisher(o, f.steps, () => {}, f.stop.signal);
    expect(out.gaveUp.map((g) => g.node).sort()).toEqual(['a', 'b']);
    expect(publishFailed(o, out)).toBe(true);
  });

  test('once: one success per node, retrying failures; any node given up fails the run', async () => {
    const f = fakeSteps((node, call) =>
      node === 'a' && call === 1 ? new Error('409') : undefined,
    );
    const o = opts({ nodes: ['a', 'b'], once: true });
    const out = await runPublisher(o, f.steps, () => {}, f.stop.signal);
    expect(out).toEqual({ published: 2, gaveUp: [] });
    expect(f.sleeps).toEqual([1_000]);
    const g = fakeSteps((node) => (node === 'a' ? new Error('x') : undefined));
    const o2 = opts({ nodes: ['a', 'b'], once: true, maxFailures: 2 });
    expect(publishFailed(o2, await runPublisher(o2, g.steps, () => {}, g.stop.signal))).toBe(true);
  });
});
