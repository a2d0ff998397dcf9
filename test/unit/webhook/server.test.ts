import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { Registry } from 'prom-client';
import { admissionMetrics } from '../../../webhook/metrics.ts';
import type { WebhookServer } from '../../../webhook/server.ts';
import { issueServingCertificate, type KeyPairPem } from '../../../webhook/tls/certificates.ts';
import { startLocalWebhook } from './local-webhook.ts';
import {
  buildWorld,
  makeExemption,
  makeGrant,
  makePolicy,
  makeVerifierKey,
  podReview,
  runnerPod,
  signAttestation,
} from './world.ts';

let server: WebhookServer;
let ca: KeyPairPem;
let registry: Registry;
const logs: string[] = [];

function post(
  path: string,
  body: string | Buffer,
  caPem = ca.certPem,
): Promise<{ status: number; body: string; peerSerial?: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: 'POST',
        ca: caPem,
        servername: 'localhost',
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            peerSerial: (res.socket as import('node:tls').TLSSocket).getPeerCertificate?.()
              ?.serialNumber,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  const now = Date.now();
  const key = await makeVerifierKey();
  const world = await buildWorld({
    policies: [makePolicy('ci-runners', key)],
    nodes: [
      {
        name: 'runner-1',
        labels: { pool: 'ci' },
        token: await signAttestation(key, 'runner-1', now),
      },
      {
        name: 'runner-2',
        labels: { pool: 'ci' },
        token: await signAttestation(key, 'runner-2', now, {
          diskEncryption: false,
          patchAgeDays: 1,
        }),
      },
    ],
    grants: [makeGrant('runner', 'ci', 'runner', 'ci-runners')],
    exemptions: [
      makeExemption('inc-7', 'ci', {
        podSelector: { matchLabels: { incident: '7' } },
        expiresAt: new Date(now + 3600_000).toISOString(),
        reason: 'INC-7 disk encryption agent down',
      }),
    ],
  });
  registry = new Registry();
  const stream = { write: (line: string) => logs.push(line) };
  ({ server, ca } = await startLocalWebhook({
    caches: world.caches,
    logger: pino({ level: 'info' }, stream),
    metrics: admissionMetrics(registry),
    maxBodyBytes: 64 * 1024,
  }));
});

afterAll(async () => {
  await server.close(1000);
});

describe('webhook server', () => {
  it('answers a review with the uid echoed and logs one decision line without the object', async () => {
    const body = podReview(runnerPod('r1', { nodeName: 'runner-2' }), 'ci');
    const res = await post('/validate', JSON.stringify(body));
    expect(res.status).toBe(200);
    const review = JSON.parse(res.body);
    expect(review).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: body.request.uid, allowed: false, status: { code: 403 } },
    });
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.uid === body.request.uid);
    expect(line).toMatchObject({
      verdict: 'denied',
      policy: 'ci-runners',
      reasons: ['PostureRequirementFailed'],
      resource: 'pods',
      user: 'system:serviceaccount:ci:deployer',
    });
    expect(JSON.stringify(line)).not.toContain('ghcr.io'); // no object contents
  });

  it('serves /validate/<anything> the same way', async () => {
    const body = podReview(runnerPod('r1', { nodeName: 'runner-1' }), 'ci');
    const res = await post('/validate/pods', JSON.stringify(body));
    expect(JSON.parse(res.body).response).toMatchObject({ uid: body.request.uid, allowed: true });
  });

  it.each([
    ['not json', '{', 'InvalidJSON'],
    [
      'wrong version',
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1beta1',
        kind: 'AdmissionReview',
        request: { uid: 'x' },
      }),
      'WrongAPIVersion',
    ],
    [
      'no uid',
      JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }),
      'MissingUID',
    ],
    ['too large', Buffer.alloc(100 * 1024, 'a'), 'TooLarge'],
  ])(
    'answers %s with 400, a reason and a metric, and keeps serving',
    async (_name, body, reason) => {
      const res = await post('/validate', body);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).reason).toBe(reason);
      const errors = await registry.getSingleMetric('trustgate_admission_errors_total')?.get();
      expect(errors?.values.find((v) => v.labels.reason === reason)?.value).toBeGreaterThanOrEqual(
        1,
      );
      const ok = await post('/validate', JSON.stringify(podReview(runnerPod('r1'), 'ci')));
      expect(ok.status).toBe(200);
    },
  );

  it('logs and counts an admission an exemption lets through', async () => {
    const pod = runnerPod('r9', { nodeName: 'runner-2', labels: { incident: '7' } });
    const body = podReview(pod, 'ci');
    const res = await post('/validate', JSON.stringify(body));
    expect(JSON.parse(res.body).response.allowed).toBe(true);
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.uid === body.request.uid);
    expect(line).toMatchObject({
      verdict: 'exempted',
      exempted: [
        { policy: 'ci-runners', exemption: 'ci/inc-7', reason: 'INC-7 disk encryption agent down' },
      ],
    });
    const text = await registry.metrics();
    expect(text).toContain(
      'trustgate_admission_exempted_total{policy="ci-runners",exemption="ci/inc-7"} 1',
    );
    expect(text).toMatch(/trustgate_admission_requests_total\{[^}]*verdict="exempted"[^}]*\} 1/);
  });

  it('counts decisions by resource, operation, verdict and policy', async () => {
    const text = await registry.metrics();
    expect(text).toMatch(
      /trustgate_admission_requests_total\{resource="pods",operation="CREATE",verdict="denied",policy="ci-runners"\} \d/,
    );
    expect(text).toContain('trustgate_admission_duration_seconds_bucket');
  });

  it('serves a new certificate to new connections after setCertificate', async () => {
    const before = await post('/validate', JSON.stringify(podReview(runnerPod('r1'), 'ci')));
    const fresh = await issueServingCertificate(
      ca,
      ['localhost', '127.0.0.1'],
      Date.now(),
      3_600_000,
    );
    server.setCertificate({ cert: fresh.certPem, key: fresh.keyPem });
    const after = await post('/validate', JSON.stringify(podReview(runnerPod('r1'), 'ci')));
    expect(after.status).toBe(200);
    expect(after.peerSerial).toBeDefined();
    expect(after.peerSerial).not.toBe(before.peerSerial);
  });
});
