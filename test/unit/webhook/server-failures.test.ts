// A handler that throws (synchronously, or a rejected verdict promise) must deny the review
// with a 500 inside it, count it, and leave the server serving: fail closed, never allowed.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { AdmissionCaches } from '../../../webhook/caches.ts';
import { admissionMetrics } from '../../../webhook/metrics.ts';
import { type LocalWebhook, startLocalWebhook } from './local-webhook.ts';
import { podReview, runnerPod } from './world.ts';

const broken = (): never => {
  throw new Error('cache exploded');
};
const caches: AdmissionCaches = {
  synced: broken,
  policies: broken,
  grants: broken,
  namespaceLabels: broken,
  pod: broken,
  isLegacyTokenSecret: broken,
  nodeDecision: broken,
  exemptions: { forNamespace: broken },
};

let hook: LocalWebhook;
let registry: Registry;
const logs: string[] = [];

beforeAll(async () => {
  registry = new Registry();
  hook = await startLocalWebhook({
    caches,
    logger: pino({ level: 'info' }, { write: (line: string) => logs.push(line) }),
    metrics: admissionMetrics(registry),
  });
});

afterAll(async () => {
  await hook.server.close(1000);
});

function post(body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: hook.server.port,
        path: '/validate',
        method: 'POST',
        ca: hook.ca.certPem,
        servername: 'localhost',
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const policyReview = JSON.stringify({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'policy-uid',
    kind: { group: 'trustgate.dev', version: 'v1alpha1', kind: 'EndpointTrustPolicy' },
    resource: { group: 'trustgate.dev', version: 'v1alpha1', resource: 'endpointtrustpolicies' },
    name: 'p',
    operation: 'CREATE',
    userInfo: { username: 'admin' },
    object: { apiVersion: 'trustgate.dev/v1alpha1', kind: 'EndpointTrustPolicy', spec: {} },
  },
});

describe('webhook server, handler failures', () => {
  it.each([
    ['a synchronous handler (pod CREATE)', JSON.stringify(podReview(runnerPod('p1'), 'ci'))],
    ['an asynchronous handler (trustgate resource)', policyReview],
  ])('denies with 500 when %s throws, and keeps serving', async (_what, body) => {
    const before = logs.length;
    const res = await post(body);
    expect(res.status).toBe(200);
    const { response } = JSON.parse(res.body) as {
      response: { allowed: boolean; status: { code: number; reason: string } };
    };
    expect(response.allowed).toBe(false);
    expect(response.status).toMatchObject({ code: 500, reason: 'InternalError' });
    const lines = logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.msg === 'admission decision')).toHaveLength(1);
    expect(lines.find((l) => l.msg === 'admission handler failed')).toMatchObject({
      err: 'cache exploded',
    });
    const errors = await registry.getSingleMetricAsString('trustgate_admission_errors_total');
    expect(errors).toMatch(/reason="HandlerError"\} [1-9]/);
  });
});
