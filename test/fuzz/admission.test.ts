// Property-based fuzzing of the codec and handlers (fast-check), in process: well over
// 100,000 generated or mutated AdmissionReviews. Properties: nothing throws but a typed
// decode error, every decoded review gets a well-formed answer echoing its uid, and a
// governed request that fails an enforced policy is never allowed (the oracle knows what
// the generator built). A smaller sample goes through the real HTTPS server: no 5xx.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import pino from 'pino';
import { Registry } from 'prom-client';
import { admit } from '../../webhook/admit.ts';
import type { AdmissionCaches } from '../../webhook/caches.ts';
import {
  admissionResponse,
  decodeAdmissionReview,
  ReviewDecodeError,
} from '../../webhook/codec.ts';
import { admissionMetrics } from '../../webhook/metrics.ts';
import type { WebhookServer } from '../../webhook/server.ts';
import { startLocalWebhook } from '../unit/webhook/local-webhook.ts';
import {
  bindingReview,
  buildWorld,
  makeGrant,
  makePolicy,
  makeVerifierKey,
  podReview,
  runnerPod,
  signAttestation,
  tokenRequestReview,
} from '../unit/webhook/world.ts';

const NOW = Date.parse('2026-11-25T12:00:00Z');
const NODES = ['good', 'drifted', 'unattested', 'foreign', 'ghost'] as const;
const DEFAULT_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
let caches: AdmissionCaches;

beforeAll(async () => {
  const key = await makeVerifierKey();
  const world = await buildWorld({
    policies: [
      makePolicy('enforce', key, { namespaces: ['ci'] }),
      makePolicy('audit', key, { namespaces: ['audit'], mode: 'Audit' }),
    ],
    nodes: [
      { name: 'good', labels: { pool: 'ci' }, token: await signAttestation(key, 'good', NOW) },
      {
        name: 'drifted',
        labels: { pool: 'ci' },
        token: await signAttestation(key, 'drifted', NOW, {
          diskEncryption: false,
          patchAgeDays: 1,
        }),
      },
      { name: 'unattested', labels: { pool: 'ci' } },
      {
        name: 'foreign',
        labels: { pool: 'web' },
        token: await signAttestation(key, 'foreign', NOW),
      },
    ],
    grants: [
      makeGrant('runner', 'ci', 'runner', 'enforce', { audiences: ['vault', DEFAULT_AUDIENCE] }),
      makeGrant('runner', 'audit', 'runner', 'audit', { audiences: ['vault', DEFAULT_AUDIENCE] }),
    ],
    namespaces: { ci: {}, audit: {}, default: {} },
    pods: ['ci', 'audit', 'default'].map((ns) => ({
      metadata: { name: 'p-runner', namespace: ns, labels: { app: 'runner' } },
      spec: { serviceAccountName: 'runner' },
    })),
    legacyTokenSecrets: ['ci/legacy-token', 'audit/legacy-token'],
  });
  caches = world.caches;
});

const effective = (exp: number) => (exp === 3607 ? 3600 : exp);
const junkLabels = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), {
  maxKeys: 3,
});

// ---- 1. arbitrary and mutated bodies through the codec and handlers ----

const any = fc.anything({ maxDepth: 3 });
const maybe = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: any });
const requestArb = fc.record(
  {
    uid: maybe(fc.uuid()),
    kind: maybe(
      fc.constantFrom(
        { group: '', version: 'v1', kind: 'Pod' },
        { group: 'trustgate.dev', version: 'v1alpha1', kind: 'WorkloadGrant' },
      ),
    ),
    resource: maybe(
      fc.constantFrom(
        { group: '', version: 'v1', resource: 'pods' },
        { group: '', version: 'v1', resource: 'serviceaccounts' },
        { group: '', version: 'v1', resource: 'bindings' },
        { group: 'trustgate.dev', version: 'v1alpha1', resource: 'workloadgrants' },
        { group: 'trustgate.dev', version: 'v1alpha1', resource: 'endpointtrustpolicies' },
      ),
    ),
    subResource: maybe(fc.constantFrom('', 'binding', 'token', 'ephemeralcontainers', 'status')),
    name: maybe(fc.constantFrom('p-runner', 'runner', 'x')),
    namespace: maybe(fc.constantFrom('ci', 'audit', 'default', '')),
    operation: maybe(fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT')),
    userInfo: maybe(
      fc.record({
        username: maybe(fc.constantFrom('system:node:good', 'system:node:drifted', 'alice')),
        groups: maybe(fc.array(fc.string(), { maxLength: 2 })),
      }),
    ),
    object: maybe(
      fc.oneof(
        fc.constant(runnerPod('p', { nodeName: 'drifted' })),
        fc.record({ spec: any, metadata: any, target: any }, { requiredKeys: [] }),
        fc.record({
          apiVersion: fc.constant('trustgate.dev/v1alpha1'),
          kind: fc.constantFrom('WorkloadGrant', 'EndpointTrustPolicy'),
          spec: any,
        }),
      ),
    ),
    dryRun: maybe(fc.boolean()),
  },
  { requiredKeys: [] },
);
const reviewArb = fc.record(
  {
    apiVersion: maybe(fc.constant('admission.k8s.io/v1')),
    kind: maybe(fc.constant('AdmissionReview')),
    request: maybe(requestArb),
  },
  { requiredKeys: [] },
);
/** JSON text, sometimes cut short or with a byte changed. */
const bodyArb = fc
  .tuple(reviewArb, fc.nat(), fc.constantFrom('keep', 'keep', 'keep', 'truncate', 'flip'))
  .map(([review, n, how]) => {
    const text = JSON.stringify(review) ?? 'null';
    if (how === 'truncate') return text.slice(0, n % (text.length + 1));
    if (how === 'flip') {
      const i = n % Math.max(text.length, 1);
      return `${text.slice(0, i)}${String.fromCharCode((text.charCodeAt(i) + 1) % 128)}${text.slice(i + 1)}`;
    }
    return text;
  });

describe('codec and handlers on arbitrary bodies', () => {
  it('never throw, and answer every decoded review with its uid', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        let request: ReturnType<typeof decodeAdmissionReview>;
        try {
          request = decodeAdmissionReview(body);
        } catch (err) {
          if (err instanceof ReviewDecodeError) return;
          throw err;
        }
        const verdict = await admit(request, caches, NOW);
        const response = JSON.parse(JSON.stringify(admissionResponse(request.uid, verdict)));
        expect(response.response.uid).toBe(request.uid);
        expect(typeof response.response.allowed).toBe('boolean');
        if (!response.response.allowed)
          expect(response.response.status.code).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 40_000 },
    );
  }, 120_000);
});

// ---- 2. pods with an oracle ----

const podScenario = fc.record({
  ns: fc.constantFrom('ci', 'audit', 'default'),
  sa: fc.constantFrom('runner', 'other'),
  node: fc.option(fc.constantFrom(...NODES), { nil: undefined }),
  exp: fc.constantFrom(600, 3600, 3607, 7200, 86400),
  audience: fc.option(fc.constantFrom('vault', 'aws', DEFAULT_AUDIENCE), { nil: undefined }),
  legacy: fc.boolean(),
  ephemeral: fc.boolean(),
  labels: junkLabels,
  annotations: junkLabels,
});

describe('pods: never allowed when an enforced policy fails', () => {
  it('agrees with the oracle', async () => {
    await fc.assert(
      fc.asyncProperty(podScenario, async (s) => {
        const pod = runnerPod('p', {
          serviceAccount: s.sa,
          nodeName: s.node,
          expirationSeconds: s.exp,
          audience: s.audience,
          secretVolume: s.legacy ? 'legacy-token' : undefined,
          labels: s.labels,
        });
        (pod.metadata as Record<string, unknown>).annotations = s.annotations;
        const body = s.ephemeral
          ? podReview(pod, s.ns, { operation: 'UPDATE', subResource: 'ephemeralcontainers' })
          : podReview(pod, s.ns);
        const verdict = await admit(decodeAdmissionReview(JSON.stringify(body)), caches, NOW);
        const violates =
          s.sa !== 'runner' ||
          (s.node !== undefined && s.node !== 'good') ||
          effective(s.exp) > 3600 ||
          s.audience === 'aws' ||
          s.legacy;
        if (s.ns === 'ci') expect(verdict.allowed).toBe(!violates);
        else expect(verdict.allowed).toBe(true);
        if (s.ns === 'audit') expect(verdict.warnings.length > 0).toBe(violates);
        if (s.ns === 'default') expect(verdict.warnings).toEqual([]);
      }),
      { numRuns: 35_000 },
    );
  }, 120_000);
});

// ---- 3. bindings and token requests with an oracle ----

const tokenScenario = fc.record({
  ns: fc.constantFrom('ci', 'audit', 'default'),
  sa: fc.constantFrom('runner', 'other'),
  kubelet: fc.option(fc.constantFrom(...NODES), { nil: undefined }),
  bound: fc.boolean(),
  exp: fc.constantFrom(600, 3600, 3607, 7200),
  audiences: fc.subarray(['vault', 'aws', 'https://kubernetes.default.svc']),
});

describe('bindings and token requests: never allowed when an enforced policy fails', () => {
  it('bindings agree with the oracle', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('ci', 'audit', 'default'),
        fc.constantFrom(...NODES),
        async (ns, node) => {
          const verdict = await admit(
            decodeAdmissionReview(JSON.stringify(bindingReview(ns, 'p-runner', node))),
            caches,
            NOW,
          );
          expect(verdict.allowed).toBe(ns !== 'ci' || node === 'good');
        },
      ),
      { numRuns: 10_000 },
    );
  }, 60_000);

  it('token requests agree with the oracle', async () => {
    await fc.assert(
      fc.asyncProperty(tokenScenario, async (s) => {
        const user = s.kubelet ? `system:node:${s.kubelet}` : 'alice';
        const body = tokenRequestReview(
          s.ns,
          s.sa,
          {
            audiences: s.audiences,
            expirationSeconds: s.exp,
            boundPod: s.bound ? 'p-runner' : undefined,
          },
          user,
        );
        const verdict = await admit(decodeAdmissionReview(JSON.stringify(body)), caches, NOW);
        const governed = s.bound || s.sa === 'runner';
        const violates =
          governed &&
          (s.sa !== 'runner' ||
            effective(s.exp) > 3600 ||
            s.audiences.includes('aws') ||
            (s.kubelet !== undefined && s.bound && s.kubelet !== 'good'));
        if (s.ns === 'ci') expect(verdict.allowed).toBe(!violates);
        else expect(verdict.allowed).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  }, 60_000);
});

// ---- 4. a sample through the real HTTPS server ----

describe('the HTTPS server on generated bodies', () => {
  let server: WebhookServer;
  let caPem: string;
  let agent: https.Agent;

  beforeAll(async () => {
    const local = await startLocalWebhook({
      caches,
      logger: pino({ level: 'silent' }),
      metrics: admissionMetrics(new Registry()),
      now: () => NOW,
    });
    server = local.server;
    caPem = local.ca.certPem;
    agent = new https.Agent({ keepAlive: true, ca: caPem, maxSockets: 8 });
  });

  afterAll(async () => {
    agent.destroy();
    await server.close(1000);
  });

  const post = (body: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: server.port,
          method: 'POST',
          path: '/validate',
          agent,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  it('answers 200 or 400, never 5xx, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArb, async (body) => {
        const res = await post(body);
        expect([200, 400]).toContain(res.status);
        if (res.status === 200) expect(JSON.parse(res.text).kind).toBe('AdmissionReview');
        else expect(JSON.parse(res.text).reason).toEqual(expect.any(String));
      }),
      { numRuns: 1_500 },
    );
    const ok = await post(
      JSON.stringify(
        podReview(runnerPod('p', { serviceAccount: 'runner', nodeName: 'good' }), 'ci'),
      ),
    );
    expect(JSON.parse(ok.text).response.allowed).toBe(true);
  }, 120_000);
});
