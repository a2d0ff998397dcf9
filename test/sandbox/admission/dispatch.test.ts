// runValidatingAdmission against real HTTPS webhooks (own CA) and an in-memory store.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { ValidatingWebhook } from '../../../hack/sandbox/admission/types.ts';
import {
  type AdmissionAttributes,
  runValidatingAdmission,
} from '../../../hack/sandbox/admission.ts';
import type { SandboxContext } from '../../../hack/sandbox/types.ts';
import { FakeStore, fakeContext, pod, R } from '../identity/fake-store.ts';
import { respond, startTestWebhook, type TestWebhook } from './webhook-server.ts';

let hook: TestWebhook;
let svcHook: TestWebhook;
let store: FakeStore;
let ctx: SandboxContext;

beforeAll(async () => {
  hook = await startTestWebhook();
  svcHook = await startTestWebhook(['trustgate-webhook.trustgate-system.svc']);
});
afterAll(async () => {
  await hook.close();
  await svcHook.close();
});

beforeEach(() => {
  store = new FakeStore();
  store.put(R.namespaces, { metadata: { name: 'team-a', labels: { env: 'prod' } } });
  ctx = fakeContext(store);
  hook.received.length = 0;
  hook.setHandler((review) => respond(review));
});

const podsV1 = { group: '', version: 'v1', resource: 'pods' };
const alice = { username: 'alice', uid: 'u-alice', groups: ['dev', 'system:authenticated'] };

function podCreate(over: Partial<AdmissionAttributes> = {}): AdmissionAttributes {
  const object = pod('team-a', 'web-1');
  return {
    uid: 'req-1',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: podsV1,
    subResource: '',
    requestKind: { group: '', version: 'v1', kind: 'Pod' },
    requestResource: podsV1,
    requestSubResource: '',
    name: 'web-1',
    namespace: 'team-a',
    operation: 'CREATE',
    userInfo: alice,
    object,
    oldObject: null,
    dryRun: false,
    options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', metadata: {} },
    ...over,
  };
}

function install(webhooks: Partial<ValidatingWebhook>[], name = 'trustgate'): void {
  store.put(R.webhooks, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name },
    webhooks: webhooks.map((w, i) => ({
      name: `hook-${i}.trustgate.dev`,
      clientConfig: { url: `${hook.url}/validate`, caBundle: hook.caBundle },
      rules: [
        {
          operations: ['*'],
          apiGroups: [''],
          apiVersions: ['v1'],
          resources: ['pods', 'pods/binding', 'serviceaccounts/token'],
        },
      ],
      sideEffects: 'None',
      admissionReviewVersions: ['v1'],
      ...w,
    })),
  });
}

describe('AdmissionReview sent to the webhook', () => {
  it('carries the request as kube builds it for pods CREATE', async () => {
    install([{}]);
    expect(await runValidatingAdmission(podCreate(), ctx)).toEqual({ allowed: true, warnings: [] });
    expect(hook.received).toHaveLength(1);
    const review = hook.received[0];
    expect(review?.apiVersion).toBe('admission.k8s.io/v1');
    expect(review?.kind).toBe('AdmissionReview');
    expect(review?.request).toEqual({
      uid: expect.any(String),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: podsV1,
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: podsV1,
      name: 'web-1',
      namespace: 'team-a',
      operation: 'CREATE',
      userInfo: alice,
      object: pod('team-a', 'web-1'),
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions', metadata: {} },
    });
    expect(review?.request.uid).not.toBe('req-1');
  });

  it('sends the Binding for pods/binding and the TokenRequest for serviceaccounts/token', async () => {
    install([{}]);
    const binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'web-1', namespace: 'team-a' },
      target: { apiVersion: 'v1', kind: 'Node', name: 'n1' },
    };
    await runValidatingAdmission(
      podCreate({
        kind: { group: '', version: 'v1', kind: 'Binding' },
        requestKind: { group: '', version: 'v1', kind: 'Binding' },
        subResource: 'binding',
        requestSubResource: 'binding',
        object: binding,
        oldObject: pod('team-a', 'web-1'),
      }),
      ctx,
    );
    const tokenKind = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
    const saRes = { group: '', version: 'v1', resource: 'serviceaccounts' };
    const tokenRequest = {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: 'runner', namespace: 'team-a' },
      spec: { audiences: ['vault'], expirationSeconds: 3600 },
    };
    await runValidatingAdmission(
      podCreate({
        kind: tokenKind,
        requestKind: tokenKind,
        resource: saRes,
        requestResource: saRes,
        subResource: 'token',
        requestSubResource: 'token',
        name: 'runner',
        object: tokenRequest,
      }),
      ctx,
    );
    expect(hook.received.map((r) => r.request)).toMatchObject([
      {
        kind: { kind: 'Binding' },
        resource: podsV1,
        subResource: 'binding',
        requestSubResource: 'binding',
        object: binding,
      },
      {
        kind: tokenKind,
        resource: saRes,
        subResource: 'token',
        name: 'runner',
        object: tokenRequest,
      },
    ]);
  });

  it('sends DELETE with the stored object as oldObject and no object', async () => {
    install([{}]);
    const options = { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', gracePeriodSeconds: 0 };
    await runValidatingAdmission(
      podCreate({
        operation: 'DELETE',
        object: null,
        oldObject: pod('team-a', 'web-1'),
        options: { ...options, metadata: {} },
      }),
      ctx,
    );
    expect(hook.received[0]?.request).toMatchObject({
      operation: 'DELETE',
      object: null,
      oldObject: { kind: 'Pod' },
      options: { kind: 'DeleteOptions', gracePeriodSeconds: 0 },
    });
  });
});

describe('verdicts', () => {
  it('reports a denial as kube does, with the webhook status code when it sets one', async () => {
    install([{}]);
    hook.setHandler((r) =>
      respond(r, {
        allowed: false,
        status: { code: 403, message: 'node n1 is not trusted under policy prod' },
      }),
    );
    expect(await runValidatingAdmission(podCreate(), ctx)).toEqual({
      allowed: false,
      status: {
        code: 403,
        message:
          'admission webhook "hook-0.trustgate.dev" denied the request: node n1 is not trusted under policy prod',
      },
      warnings: [],
    });
    hook.setHandler((r) =>
      respond(r, { allowed: false, status: { code: 422, reason: 'Invalid', message: 'bad' } }),
    );
    expect((await runValidatingAdmission(podCreate(), ctx)).status).toMatchObject({
      code: 422,
      reason: 'Invalid',
    });
    hook.setHandler((r) => respond(r, { allowed: false }));
    expect((await runValidatingAdmission(podCreate(), ctx)).status).toEqual({
      code: 403,
      message: 'admission webhook "hook-0.trustgate.dev" denied the request without explanation',
    });
  });

  it('collects warnings from every webhook, allowed or not', async () => {
    install([{}, { name: 'second.trustgate.dev' }]);
    hook.setHandler((r) => respond(r, { warnings: [`audit: ${r.request.name}`] }));
    const result = await runValidatingAdmission(podCreate(), ctx);
    expect(result.allowed).toBe(true);
    expect(result.warnings).toEqual(['audit: web-1', 'audit: web-1']);
  });

  it('treats a response with the wrong uid as a failed call', async () => {
    install([{}]);
    hook.setHandler((r) => ({ ...respond(r), response: { uid: 'other', allowed: true } }));
    expect((await runValidatingAdmission(podCreate(), ctx)).status?.message).toBe(
      `Internal error occurred: failed calling webhook "hook-0.trustgate.dev": received invalid webhook response: expected response.uid="${hook.received[0]?.request.uid}", got "other"`,
    );
  });

  it('refuses dry-run requests for webhooks with side effects', async () => {
    install([{ sideEffects: 'Some' }]);
    expect((await runValidatingAdmission(podCreate({ dryRun: true }), ctx)).status).toMatchObject({
      code: 400,
      message: 'admission webhook "hook-0.trustgate.dev" does not support dry run',
    });
    expect(hook.received).toHaveLength(0);
  });
});

describe('failures', () => {
  it('fails closed on a dead webhook with failurePolicy Fail and open with Ignore', async () => {
    const dead = await startTestWebhook();
    const deadUrl = `${dead.url}/validate`;
    await dead.close();
    install([{ clientConfig: { url: deadUrl, caBundle: hook.caBundle } }]);
    expect(await runValidatingAdmission(podCreate(), ctx)).toEqual({
      allowed: false,
      status: {
        code: 500,
        reason: 'InternalError',
        message: `Internal error occurred: failed calling webhook "hook-0.trustgate.dev": failed to call webhook: Post "${deadUrl}?timeout=10s": dial tcp 127.0.0.1:${dead.port}: connect: connection refused`,
        details: { causes: [{ message: expect.stringContaining('failed calling webhook') }] },
      },
      warnings: [],
    });
    install([{ clientConfig: { url: deadUrl, caBundle: hook.caBundle }, failurePolicy: 'Ignore' }]);
    expect(await runValidatingAdmission(podCreate(), ctx)).toEqual({ allowed: true, warnings: [] });
  });

  it('applies timeoutSeconds', async () => {
    install([{ timeoutSeconds: 1 }]);
    hook.setHandler(() => 'hang');
    const result = await runValidatingAdmission(podCreate(), ctx);
    expect(result.status?.message).toBe(
      `Internal error occurred: failed calling webhook "hook-0.trustgate.dev": failed to call webhook: Post "${hook.url}/validate?timeout=1s": context deadline exceeded`,
    );
    install([{ timeoutSeconds: 1, failurePolicy: 'Ignore' }]);
    expect((await runValidatingAdmission(podCreate(), ctx)).allowed).toBe(true);
  });

  it('verifies the serving certificate against caBundle', async () => {
    install([{ clientConfig: { url: `${hook.url}/validate`, caBundle: svcHook.caBundle } }]);
    expect((await runValidatingAdmission(podCreate(), ctx)).status?.message).toBe(
      `Internal error occurred: failed calling webhook "hook-0.trustgate.dev": failed to call webhook: Post "${hook.url}/validate?timeout=10s": tls: failed to verify certificate: x509: certificate signed by unknown authority`,
    );
    expect(hook.received).toHaveLength(0);
  });

  it('reports a non-2xx answer as a failed call', async () => {
    install([{}]);
    hook.setHandler(() => ({ httpStatus: 500, body: 'boom' }));
    expect((await runValidatingAdmission(podCreate(), ctx)).status?.message).toBe(
      'Internal error occurred: failed calling webhook "hook-0.trustgate.dev": failed to call webhook: an error on the server ("boom") has prevented the request from succeeding',
    );
  });
});

describe('service clientConfig', () => {
  const service = {
    namespace: 'trustgate-system',
    name: 'trustgate-webhook',
    path: '/validate',
    port: 8443,
  };

  const putService = (spec: Record<string, unknown>, annotations?: Record<string, string>) =>
    store.put(R.services, {
      metadata: {
        namespace: 'trustgate-system',
        name: 'trustgate-webhook',
        ...(annotations ? { annotations } : {}),
      },
      spec,
    });
  const failure = async () => (await runValidatingAdmission(podCreate(), ctx)).status?.message;
  const prefix =
    'Internal error occurred: failed calling webhook "hook-0.trustgate.dev": failed to call webhook: Post "https://trustgate-webhook.trustgate-system.svc:8443/validate?timeout=10s": ';

  it('dials the address annotated on a ClusterIP Service and checks the certificate for <svc>.<ns>.svc', async () => {
    install([{ clientConfig: { service, caBundle: svcHook.caBundle } }]);
    putService(
      { type: 'ClusterIP', clusterIP: '10.96.0.9', ports: [{ port: 8443 }] },
      { 'sandbox.trustgate.dev/address': `127.0.0.1:${svcHook.port}` },
    );
    svcHook.received.length = 0;
    expect((await runValidatingAdmission(podCreate(), ctx)).allowed).toBe(true);
    expect(svcHook.received).toHaveLength(1);
    // The same certificate reached as a plain URL fails the hostname check.
    install([{ clientConfig: { url: `${svcHook.url}/validate`, caBundle: svcHook.caBundle } }]);
    expect(await failure()).toContain('x509: certificate is not valid for 127.0.0.1');
  });

  it('dials an ExternalName Service at <externalName>:<port>, as kube does', async () => {
    install([
      { clientConfig: { service: { ...service, port: svcHook.port }, caBundle: svcHook.caBundle } },
    ]);
    putService({ type: 'ExternalName', externalName: '127.0.0.1' });
    svcHook.received.length = 0;
    expect((await runValidatingAdmission(podCreate(), ctx)).allowed).toBe(true);
    expect(svcHook.received).toHaveLength(1);
  });

  it('fails closed with kube wording when the Service cannot be reached', async () => {
    install([{ clientConfig: { service, caBundle: svcHook.caBundle } }]);
    expect(await failure()).toBe(`${prefix}service "trustgate-webhook" not found`);
    putService({ type: 'ClusterIP', clusterIP: '10.96.0.9', ports: [{ port: 443 }] });
    expect(await failure()).toBe(
      `${prefix}no service port 8443 found for service "trustgate-webhook"`,
    );
    putService({ type: 'ClusterIP', clusterIP: 'None', ports: [{ port: 8443 }] });
    expect(await failure()).toBe(`${prefix}cannot route to service with ClusterIP "None"`);
    putService({ type: 'ClusterIP', clusterIP: '10.96.0.9', ports: [{ port: 8443 }] });
    expect(await failure()).toContain(
      `${prefix}dial tcp 10.96.0.9:8443: connect: network is unreachable`,
    );
  });
});

describe('selection', () => {
  it('calls only webhooks whose selectors match', async () => {
    install([
      { name: 'prod-only', namespaceSelector: { matchLabels: { env: 'prod' } } },
      { name: 'dev-only', namespaceSelector: { matchLabels: { env: 'dev' } } },
      { name: 'db-only', objectSelector: { matchLabels: { app: 'db' } } },
    ]);
    hook.setHandler((r, path) => respond(r, { warnings: [path] }));
    const result = await runValidatingAdmission(podCreate(), ctx);
    expect(result.warnings).toEqual(['/validate?timeout=10s']);
    expect(hook.received).toHaveLength(1);
  });

  it('skips a webhook whose matchConditions are false; a broken condition fails closed', async () => {
    install([
      {
        matchConditions: [
          { name: 'not-alice', expression: "request.userInfo.username != 'alice'" },
        ],
      },
    ]);
    expect(await runValidatingAdmission(podCreate(), ctx)).toEqual({ allowed: true, warnings: [] });
    expect(hook.received).toHaveLength(0);
    install([{ matchConditions: [{ name: 'broken', expression: 'object.nope.deeper == 1' }] }]);
    const result = await runValidatingAdmission(podCreate(), ctx);
    expect(result.status).toMatchObject({ code: 403 });
    expect(result.status?.message).toMatch(
      /^pods "web-1" is forbidden: expression 'object.nope.deeper == 1' resulted in error/,
    );
    install([
      {
        failurePolicy: 'Ignore',
        matchConditions: [{ name: 'broken', expression: 'object.nope.deeper == 1' }],
      },
    ]);
    expect((await runValidatingAdmission(podCreate(), ctx)).allowed).toBe(true);
  });

  it('runs NodeRestriction before any webhook', async () => {
    install([{}]);
    store.put(R.pods, {
      ...pod('team-a', 'job-1', { serviceAccountName: 'runner', nodeName: 'n1' }),
      metadata: { namespace: 'team-a', name: 'job-1', uid: 'pod-uid' },
    });
    const tokenKind = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
    const saRes = { group: '', version: 'v1', resource: 'serviceaccounts' };
    const attrs = podCreate({
      kind: tokenKind,
      requestKind: tokenKind,
      resource: saRes,
      requestResource: saRes,
      subResource: 'token',
      requestSubResource: 'token',
      name: 'runner',
      userInfo: { username: 'system:node:n2', groups: ['system:nodes', 'system:authenticated'] },
      object: {
        metadata: { name: 'runner' },
        spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'job-1', uid: 'pod-uid' } },
      },
    });
    expect((await runValidatingAdmission(attrs, ctx)).status).toMatchObject({
      code: 403,
      message:
        'serviceaccounts "runner" is forbidden: node requested token bound to a pod scheduled on a different node',
    });
    expect(hook.received).toHaveLength(0);
    const own = {
      ...attrs,
      userInfo: { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] },
    };
    expect((await runValidatingAdmission(own, ctx)).allowed).toBe(true);
    expect(hook.received[0]?.request.userInfo.username).toBe('system:node:n1');
  });
});
