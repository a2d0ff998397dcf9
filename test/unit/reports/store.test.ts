// ReportStore against a stub API: off (never throwing) while the CRDs are absent, and a
// write only when a report's content changed.
import { describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { EndpointTrustPolicy } from '../../../operator/api/types.generated.ts';
import { controllerMetrics } from '../../../operator/controllers/metrics.ts';
import { ReportStore } from '../../../operator/controllers/report-store.ts';
import { KubeApiError, KubeClient } from '../../../operator/kube/rest.ts';
import { policyReport, type ResultDraft } from '../../../operator/reports/build.ts';
import type { PolicyReportObject } from '../../../operator/reports/types.ts';

/** Enough of KubeClient for the store: objects by path, and every call recorded. */
function stubClient(served: boolean) {
  const objects = new Map<string, PolicyReportObject>();
  const calls: string[] = [];
  let rv = 1;
  const missing = () => new KubeApiError(404, served ? 'NotFound' : '', 'HTTP 404');
  const client = {
    get: async (path: string) => {
      calls.push(`GET ${path}`);
      if (!served) throw missing();
      if (path.endsWith('reports')) return { items: [...objects.values()], metadata: {} };
      const o = objects.get(path);
      if (!o) throw missing();
      return structuredClone(o);
    },
    // KubeClient's own getIfExists, over the stub's get.
    getIfExists(path: string) {
      return KubeClient.prototype.getIfExists.call(this as unknown as KubeClient, path);
    },
    create: async (path: string, body: PolicyReportObject) => {
      calls.push(`POST ${path}`);
      objects.set(`${path}/${body.metadata.name}`, {
        ...body,
        metadata: { ...body.metadata, resourceVersion: String(rv++) },
      });
      return body;
    },
    replace: async (path: string, body: PolicyReportObject) => {
      calls.push(`PUT ${path}`);
      objects.set(path, { ...body, metadata: { ...body.metadata, resourceVersion: String(rv++) } });
      return body;
    },
    delete: async (path: string) => {
      calls.push(`DELETE ${path}`);
      objects.delete(path);
      return {};
    },
  };
  return { client: client as unknown as KubeClient, calls, objects };
}

const store = (client: KubeClient) =>
  new ReportStore({
    client,
    logger: pino({ level: 'silent' }),
    metrics: controllerMetrics(new Registry()),
    enabled: true,
  });

const policy = {
  metadata: { name: 'ci', uid: 'u1' },
  spec: { enforcement: { mode: 'Audit' } },
} as unknown as EndpointTrustPolicy;
const result = (outcome: 'pass' | 'fail'): ResultDraft => ({
  source: 'trustgate',
  policy: 'ci',
  rule: 'workload-grant',
  category: 'Workload Identity',
  severity: 'high',
  result: outcome,
  scored: true,
  message: outcome,
  resources: [{ kind: 'Pod', name: 'p', namespace: 'ns' }],
  properties: {},
});
const build = (outcome: 'pass' | 'fail', now: number) => (previous?: PolicyReportObject) =>
  policyReport({ namespace: 'ns', policy, results: [result(outcome)], previous, now });

describe('ReportStore', () => {
  it('is off, with a Reporting condition, while the report CRDs are not served', async () => {
    const { client, calls } = stubClient(false);
    const s = store(client);
    let changes = 0;
    s.onChange(() => changes++);
    s.start();
    expect(await s.ready()).toBe(false);
    expect(s.condition()).toMatchObject({
      type: 'Reporting',
      status: 'False',
      reason: 'PolicyReportCRDMissing',
    });
    expect(changes).toBe(1);
    const before = calls.length;
    expect(await s.apply('PolicyReport', 'ns', 'trustgate-ci', build('fail', 1000))).toBe(false);
    expect(calls.length).toBe(before);
    s.stop();
  });

  it('writes a report once, not again while only time passes, and again on a change', async () => {
    const { client, calls, objects } = stubClient(true);
    const s = store(client);
    s.start();
    expect(await s.ready()).toBe(true);
    expect(s.condition()).toMatchObject({ status: 'True', reason: 'PolicyReportsWritten' });
    expect(await s.apply('PolicyReport', 'ns', 'trustgate-ci', build('fail', 1000))).toBe(true);
    const written = calls.length;
    expect(await s.apply('PolicyReport', 'ns', 'trustgate-ci', build('fail', 99_000))).toBe(false);
    expect(calls.length).toBe(written); // no request at all
    expect(await s.apply('PolicyReport', 'ns', 'trustgate-ci', build('pass', 99_000))).toBe(true);
    expect(calls.slice(written).map((c) => c.split(' ')[0])).toEqual(['GET', 'PUT']);
    const stored = [...objects.values()][0];
    expect(stored?.results[0]).toMatchObject({ result: 'pass', timestamp: { seconds: 99 } });
    expect(s.names('PolicyReport', 'ns')).toEqual(['trustgate-ci']);
    expect(await s.apply('PolicyReport', 'ns', 'trustgate-ci', () => undefined)).toBe(true);
    expect(objects.size).toBe(0);
    expect(s.names('PolicyReport', 'ns')).toEqual([]);
    s.stop();
  });

  it('knows what the cluster holds from its first list, so a restart writes nothing', async () => {
    const { client, calls } = stubClient(true);
    const first = store(client);
    first.start();
    await first.ready();
    await first.apply('PolicyReport', 'ns', 'trustgate-ci', build('fail', 1000));
    first.stop();
    const second = store(client);
    second.start();
    await second.ready();
    const before = calls.length;
    expect(await second.apply('PolicyReport', 'ns', 'trustgate-ci', build('fail', 5000))).toBe(
      false,
    );
    expect(calls.length).toBe(before);
    second.stop();
  });
});
