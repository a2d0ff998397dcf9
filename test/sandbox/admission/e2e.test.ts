// Admission end to end: a ValidatingWebhookConfiguration created through the API, a real
// HTTPS webhook with its own CA, and the sandbox's scheduler and kubelet driving
// pods/binding and serviceaccounts/token through it with their own identities.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kubeConfigFor } from '../../../hack/sandbox/identity/client.ts';
import type { Sandbox } from '../../../hack/sandbox/index.ts';
import { type Kubelet, startKubelet } from '../../../hack/sandbox/kubelet.ts';
import { type Scheduler, startScheduler } from '../../../hack/sandbox/scheduler.ts';
import { rawRequest, startTestSandbox } from '../identity/raw.ts';
import { type Review, respond, startTestWebhook, type TestWebhook } from './webhook-server.ts';

let sb: Sandbox;
let hook: TestWebhook;
let scheduler: Scheduler;
let kubelet: Kubelet;
let clock = Date.parse('2026-11-25T12:00:00Z');
let refuseTokensFor: string | undefined;

const admin = (method: string, path: string, body?: unknown) =>
  rawRequest(sb, sb.adminToken, method, path, body);
const reviews = (resource: string, subResource = '') =>
  hook.received.filter(
    (r) =>
      r.request.resource.resource === resource && (r.request.subResource ?? '') === subResource,
  );

function decide(review: Review) {
  const req = review.request;
  if (req.resource.resource === 'pods' && !req.subResource) {
    if (req.object?.metadata?.labels?.deny === 'yes') {
      return respond(review, {
        allowed: false,
        status: { code: 403, message: `pod ${req.name} is not allowed` },
      });
    }
    return respond(review, { warnings: [`audited ${req.name}`] });
  }
  if (req.subResource === 'binding' && req.object.target.name === 'n2') {
    return respond(review, {
      allowed: false,
      status: { message: 'node n2 is not trusted under policy prod' },
    });
  }
  if (req.subResource === 'token' && req.userInfo.username === refuseTokensFor) {
    return respond(review, {
      allowed: false,
      status: { message: `node ${refuseTokensFor} drifted: no fresh tokens` },
    });
  }
  return respond(review);
}

const rule = (resources: string[]) => ({
  operations: ['CREATE'],
  apiGroups: [''],
  apiVersions: ['v1'],
  resources,
  scope: 'Namespaced',
});

beforeAll(async () => {
  sb = await startTestSandbox();
  hook = await startTestWebhook();
  hook.setHandler(decide);
  await admin('POST', '/api/v1/namespaces', {
    metadata: { name: 'team-a', labels: { trustgate: 'on' } },
  });
  await admin('POST', '/api/v1/namespaces', {
    metadata: { name: 'ops', labels: { trustgate: 'off' } },
  });
  await admin('POST', '/api/v1/namespaces/team-a/serviceaccounts', {
    metadata: { name: 'runner' },
  });
  await admin('POST', '/api/v1/nodes', { metadata: { name: 'n1', labels: { pool: 'a' } } });
  await admin('POST', '/api/v1/nodes', { metadata: { name: 'n2', labels: { pool: 'b' } } });
  const config = (name: string, resources: string[]) => ({
    name,
    clientConfig: { url: `${hook.url}/validate`, caBundle: hook.caBundle },
    rules: [rule(resources)],
    namespaceSelector: { matchLabels: { trustgate: 'on' } },
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    timeoutSeconds: 3,
  });
  const created = await admin(
    'POST',
    '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'trustgate-test' },
      webhooks: [
        config('pods.trustgate.test', ['pods']),
        config('binding.trustgate.test', ['pods/binding']),
        config('token.trustgate.test', ['serviceaccounts/token']),
      ],
    },
  );
  expect(created.status).toBe(201);
  scheduler = startScheduler({
    kubeConfig: kubeConfigFor({
      url: sb.url,
      caPem: sb.caPem,
      token: sb.tokens.schedulerToken,
      user: 'scheduler',
    }),
    intervalMs: 60_000,
  });
  kubelet = startKubelet({
    kubeConfig: kubeConfigFor({
      url: sb.url,
      caPem: sb.caPem,
      token: sb.nodeToken('n1'),
      user: 'n1',
    }),
    nodeName: 'n1',
    intervalMs: 60_000,
    now: () => clock,
  });
});

afterAll(async () => {
  await scheduler?.stop();
  await kubelet?.stop();
  await hook?.close();
  await sb?.stop();
});

const podBody = (
  name: string,
  spec: Record<string, unknown> = {},
  labels: Record<string, string> = {},
) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { serviceAccountName: 'runner', containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

describe('pods CREATE', () => {
  it('sends kube AdmissionReview, returns warnings as Warning headers', async () => {
    const res = await admin('POST', '/api/v1/namespaces/team-a/pods', podBody('web'));
    expect(res.status).toBe(201);
    expect(res.headers.warning).toBe('299 - "audited web"');
    const review = reviews('pods').find((r) => r.request.name === 'web');
    expect(review?.request).toMatchObject({
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      namespace: 'team-a',
      operation: 'CREATE',
      userInfo: {
        username: 'kubernetes-admin',
        groups: ['system:masters', 'system:authenticated'],
      },
      object: { kind: 'Pod', metadata: { name: 'web', namespace: 'team-a' } },
      oldObject: null,
      dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    });
  });

  it('turns a denial into a 403 with kube wording and stores nothing', async () => {
    const res = await admin(
      'POST',
      '/api/v1/namespaces/team-a/pods',
      podBody('bad', {}, { deny: 'yes' }),
    );
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      kind: 'Status',
      code: 403,
      message: 'admission webhook "pods.trustgate.test" denied the request: pod bad is not allowed',
    });
    expect((await admin('GET', '/api/v1/namespaces/team-a/pods/bad')).status).toBe(404);
  });

  it('leaves namespaces outside the namespaceSelector alone', async () => {
    const before = hook.received.length;
    expect(
      (
        await admin(
          'POST',
          '/api/v1/namespaces/ops/pods',
          podBody('free', { serviceAccountName: 'default' }, { deny: 'yes' }),
        )
      ).status,
    ).toBe(201);
    expect(hook.received.length).toBe(before);
  });
});

describe('pods/binding from the scheduler', () => {
  it('sends the Binding as system:kube-scheduler and reports a refused binding', async () => {
    await admin(
      'POST',
      '/api/v1/namespaces/team-a/pods',
      podBody('to-a', { nodeSelector: { pool: 'a' } }),
    );
    await admin(
      'POST',
      '/api/v1/namespaces/team-a/pods',
      podBody('to-b', { nodeSelector: { pool: 'b' } }),
    );
    await admin(
      'POST',
      '/api/v1/namespaces/team-a/pods',
      podBody('nowhere', { nodeSelector: { pool: 'z' } }),
    );
    await scheduler.scheduleOnce();
    expect(scheduler.attempts.get('team-a/to-a')).toMatchObject({ node: 'n1' });
    expect((await admin('GET', '/api/v1/namespaces/team-a/pods/to-a')).body.spec.nodeName).toBe(
      'n1',
    );
    expect(scheduler.attempts.get('team-a/to-b')).toMatchObject({
      code: 403,
      error:
        'admission webhook "binding.trustgate.test" denied the request: node n2 is not trusted under policy prod',
    });
    expect(
      (await admin('GET', '/api/v1/namespaces/team-a/pods/to-b')).body.spec.nodeName,
    ).toBeUndefined();
    const binding = reviews('pods', 'binding').find((r) => r.request.name === 'to-a');
    expect(binding?.request).toMatchObject({
      kind: { group: '', version: 'v1', kind: 'Binding' },
      subResource: 'binding',
      userInfo: { username: 'system:kube-scheduler' },
      object: { kind: 'Binding', target: { kind: 'Node', name: 'n1' } },
    });
    const nowhere = (await admin('GET', '/api/v1/namespaces/team-a/pods/nowhere')).body;
    expect(nowhere.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.",
      }),
    );
  });
});

describe('serviceaccounts/token from the kubelet', () => {
  it('refreshes projected tokens at 80% of their lifetime, through the webhook, until refused', async () => {
    const projected = {
      name: 'tok',
      projected: {
        sources: [
          { serviceAccountToken: { audience: 'vault', expirationSeconds: 3600, path: 'token' } },
        ],
      },
    };
    await admin(
      'POST',
      '/api/v1/namespaces/team-a/pods',
      podBody('job', { nodeName: 'n1', volumes: [projected] }),
    );
    await kubelet.syncOnce();
    const vault = () => kubelet.tokens('team-a', 'job').find((t) => t.audience === 'vault');
    expect(vault()).toMatchObject({
      serviceAccount: 'runner',
      audience: 'vault',
      refreshes: 1,
      last: { outcome: 'ok' },
    });
    expect((await admin('GET', '/api/v1/namespaces/team-a/pods/job')).body.status.phase).toBe(
      'Running',
    );
    // The pod also carries the kube-api-access volume the ServiceAccount plugin adds.
    const token = reviews('serviceaccounts', 'token').find(
      (r) =>
        r.request.object.spec.boundObjectRef.name === 'job' &&
        r.request.object.spec.audiences[0] === 'vault',
    );
    expect(token?.request).toMatchObject({
      kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
      name: 'runner',
      userInfo: { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] },
      object: {
        kind: 'TokenRequest',
        spec: {
          audiences: ['vault'],
          expirationSeconds: 3600,
          boundObjectRef: { kind: 'Pod', name: 'job' },
        },
      },
    });

    clock += 0.79 * 3600_000;
    await kubelet.syncOnce();
    expect(vault()?.refreshes).toBe(1);
    clock += 0.02 * 3600_000;
    await kubelet.syncOnce();
    expect(vault()?.refreshes).toBe(2);

    refuseTokensFor = 'system:node:n1';
    clock += 0.81 * 3600_000;
    await kubelet.syncOnce();
    expect(vault()).toMatchObject({
      refreshes: 2,
      last: {
        outcome: 'denied',
        code: 403,
        message:
          'admission webhook "token.trustgate.test" denied the request: node system:node:n1 drifted: no fresh tokens',
      },
    });
    refuseTokensFor = undefined;
  });
});

describe('failurePolicy with a dead webhook', () => {
  it('fails closed with Fail and open with Ignore', async () => {
    const dead = await startTestWebhook();
    const url = `${dead.url}/validate`;
    await dead.close();
    const configFor = (failurePolicy: string) => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'dead' },
      webhooks: [
        {
          name: 'dead.trustgate.test',
          clientConfig: { url, caBundle: dead.caBundle },
          rules: [rule(['configmaps'])],
          failurePolicy,
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
        },
      ],
    });
    const path = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
    expect((await admin('POST', path, configFor('Fail'))).status).toBe(201);
    const refused = await admin('POST', '/api/v1/namespaces/team-a/configmaps', {
      metadata: { name: 'c1' },
    });
    expect(refused.status).toBe(500);
    expect(refused.body.message).toBe(
      `Internal error occurred: failed calling webhook "dead.trustgate.test": failed to call webhook: Post "${url}?timeout=10s": dial tcp 127.0.0.1:${dead.port}: connect: connection refused`,
    );
    const current = (await admin('GET', `${path}/dead`)).body;
    expect(
      (await admin('PUT', `${path}/dead`, { ...configFor('Ignore'), metadata: current.metadata }))
        .status,
    ).toBe(200);
    expect(
      (await admin('POST', '/api/v1/namespaces/team-a/configmaps', { metadata: { name: 'c1' } }))
        .status,
    ).toBe(201);
    await admin('DELETE', `${path}/dead`);
  });
});
