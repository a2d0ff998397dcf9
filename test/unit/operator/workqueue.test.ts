import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { WorkQueue } from '../../../operator/kube/workqueue.ts';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('collapses repeated adds of a waiting key into one reconcile', async () => {
    const q = new WorkQueue({ name: 't', concurrency: 1 });
    const calls: string[] = [];
    for (const k of ['a', 'b', 'a', 'a', 'b']) q.add(k);
    q.start(async (k) => {
      calls.push(k);
      return {};
    });
    await q.idle();
    expect(calls).toEqual(['a', 'b']);
  });

  it('never runs one key twice at once, and re-runs it when added during processing', async () => {
    const q = new WorkQueue({ name: 't', concurrency: 8 });
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    q.start(async () => {
      running++;
      runs++;
      maxRunning = Math.max(maxRunning, running);
      await tick(20);
      running--;
      return {};
    });
    q.add('k');
    await tick();
    q.add('k');
    q.add('k');
    await q.idle();
    expect(maxRunning).toBe(1);
    expect(runs).toBe(2);
  });

  it('retries failures with growing per-key backoff and counts them', async () => {
    const registry = new Registry();
    const q = new WorkQueue({ name: 'retry', registry, retry: { initialMs: 10, maxMs: 1000 } });
    const at: number[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => {
      done = r;
    });
    q.start(async () => {
      at.push(Date.now());
      if (at.length < 4) throw new Error('boom');
      done();
      return {};
    });
    q.add('k');
    await finished;
    await q.idle();
    expect(at.length).toBe(4);
    expect(q.retries('k')).toBe(0);
    const metrics = await registry.getSingleMetricAsString('trustgate_workqueue_retries_total');
    expect(metrics).toContain('trustgate_workqueue_retries_total{queue="retry"} 3');
  });

  it('requeues after the delay a reconcile asks for, and the earliest delay wins', async () => {
    const q = new WorkQueue({ name: 't' });
    const calls: number[] = [];
    let n = 0;
    q.start(async () => {
      calls.push(++n);
      return n === 1 ? { requeueAfterMs: 30 } : undefined;
    });
    q.addAfter('k', 10_000);
    q.addAfter('k', 1); // earlier wins
    await tick(15);
    await q.idle();
    expect(calls).toEqual([1]);
    await tick(60);
    await q.idle();
    expect(calls).toEqual([1, 2]);
    await q.stop();
  });

  it('reports depth as a gauge', async () => {
    const registry = new Registry();
    const q = new WorkQueue({ name: 'depth', registry });
    q.add('a');
    q.add('b');
    expect(await registry.getSingleMetricAsString('trustgate_workqueue_depth')).toContain(
      'trustgate_workqueue_depth{queue="depth"} 2',
    );
    q.start(async () => ({}));
    await q.idle();
    expect(q.depth).toBe(0);
  });

  it('aborts the signal of reconciles in flight when it stops, and waits for them', async () => {
    const q = new WorkQueue({ name: 't' });
    let seen: AbortSignal | undefined;
    let finished = false;
    q.start(async (_key, signal) => {
      seen = signal;
      await new Promise((r) => signal.addEventListener('abort', r));
      finished = true;
      return {};
    });
    q.add('k');
    await tick();
    expect(seen?.aborted).toBe(false);
    await q.stop();
    expect(seen?.aborted).toBe(true);
    expect(finished).toBe(true);
  });
});
