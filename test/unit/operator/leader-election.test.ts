import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { LeaderElector } from '../../../operator/kube/leader-election.ts';
import { KubeClient } from '../../../operator/kube/rest.ts';
import { FakeApiServer } from './fake-apiserver.ts';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/tg/leases';

async function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('LeaderElector', () => {
  let server: FakeApiServer;
  const clients: KubeClient[] = [];
  const electors: LeaderElector[] = [];
  beforeEach(async () => {
    server = (await new FakeApiServer().start()).collection(LEASES);
  });
  afterEach(async () => {
    for (const e of electors.splice(0)) await e.stop();
    for (const c of clients.splice(0)) c.close();
    await server.stop();
  });

  function elector(identity: string, log: string[], registry?: Registry) {
    const client = new KubeClient(server.kubeConfig());
    clients.push(client);
    const e = new LeaderElector({
      client,
      namespace: 'tg',
      identity,
      leaseDurationMs: 1000,
      renewDeadlineMs: 700,
      retryPeriodMs: 100,
      registry,
      onStartedLeading: () => {
        log.push(`${identity} leads`);
      },
      onStoppedLeading: () => {
        log.push(`${identity} stops`);
      },
    });
    electors.push(e);
    void e.run();
    return e;
  }

  it('elects exactly one leader and records it in the Lease', async () => {
    const log: string[] = [];
    const registry = new Registry();
    const a = elector('a', log, registry);
    await until(() => a.isLeader(), 'a leads');
    const b = elector('b', log);
    await new Promise((r) => setTimeout(r, 400));
    expect(b.isLeader()).toBe(false);
    const lease = server.objects.get(LEASES)?.get('trustgate-leader') as unknown as {
      spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: string };
    };
    expect(lease.spec.holderIdentity).toBe('a');
    expect(lease.spec.leaseDurationSeconds).toBe(1);
    expect(lease.spec.renewTime).toMatch(/\.\d{6}Z$/);
    expect(await registry.getSingleMetricAsString('trustgate_leader')).toContain(
      'trustgate_leader 1',
    );
  });

  it('hands over after the lease expires when the leader dies without releasing', async () => {
    const log: string[] = [];
    const a = elector('a', log);
    await until(() => a.isLeader(), 'a leads');
    const b = elector('b', log);
    await a.stop(); // stops renewing; the lease still names a
    await until(() => b.isLeader(), 'b takes over');
    const lease = server.objects.get(LEASES)?.get('trustgate-leader') as unknown as {
      spec: { holderIdentity: string; leaseTransitions: number };
    };
    expect(lease.spec.holderIdentity).toBe('b');
    expect(lease.spec.leaseTransitions).toBe(1);
  });

  it('release clears the holder so the next candidate takes over at once', async () => {
    const log: string[] = [];
    const a = elector('a', log);
    await until(() => a.isLeader(), 'a leads');
    await a.release();
    expect(log).toContain('a stops');
    const lease = server.objects.get(LEASES)?.get('trustgate-leader') as unknown as {
      spec: { holderIdentity?: string | null };
    };
    expect(lease.spec.holderIdentity ?? '').toBe('');
    const b = elector('b', log);
    // Well inside the 1 s lease: b does not wait for expiry.
    await until(() => b.isLeader(), 'b leads', 500);
  });

  it('steps down when it cannot renew before the renew deadline', async () => {
    const log: string[] = [];
    const a = elector('a', log);
    await until(() => a.isLeader(), 'a leads');
    server.fail({ status: 503, match: (m) => m === 'GET' || m === 'PUT' }, 1000);
    await until(() => !a.isLeader(), 'a steps down');
    expect(log).toEqual(['a leads', 'a stops']);
  });
});
