// How the sandbox API server relays validating admission, through HTTP as clients see it:
// no-op updates are still admitted (kube-apiserver admits before it notices nothing
// changed), a denial keeps the webhook's reason and details, and clientConfig.service
// reaches a webhook through the Service. Sandbox-only: a real API server cannot reach a
// webhook listening on this machine's loopback.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Sandbox } from '../../../hack/sandbox/index.ts';
import { rawRequest, startTestSandbox } from '../identity/raw.ts';
import { type Review, respond, startTestWebhook, type TestWebhook } from './webhook-server.ts';

let sb: Sandbox;
let hook: TestWebhook;
let svcHook: TestWebhook;

const admin = (method: string, path: string, body?: unknown, type?: string) =>
  rawRequest(sb, sb.adminToken, method, path, body, type);
const cmPath = '/api/v1/namespaces/relay/configmaps';
const webhooksPath = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

function configuration(clientConfig: Record<string, unknown>) {
  return {
    metadata: { name: 'relay-test' },
    webhooks: [
      {
        name: 'cm.relay.test',
        clientConfig,
        rules: [
          {
            operations: ['CREATE', 'UPDATE'],
            apiGroups: [''],
            apiVersions: ['v1'],
            resources: ['configmaps'],
          },
        ],
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 5,
      },
    ],
  };
}

async function install(clientConfig: Record<string, unknown>) {
  await admin('DELETE', `${webhooksPath}/relay-test`);
  expect((await admin('POST', webhooksPath, configuration(clientConfig))).status).toBe(201);
}

const updates = () => hook.received.filter((r) => r.request.operation === 'UPDATE');

beforeAll(async () => {
  sb = await startTestSandbox();
  hook = await startTestWebhook();
  svcHook = await startTestWebhook(['relay-hook.relay.svc']);
  expect((await admin('POST', '/api/v1/namespaces', { metadata: { name: 'relay' } })).status).toBe(
    201,
  );
});

afterAll(async () => {
  await sb?.stop();
  await hook?.close();
  await svcHook?.close();
});

beforeEach(async () => {
  hook.received.length = 0;
  hook.setHandler((r) => respond(r));
  await install({ url: `${hook.url}/validate`, caBundle: hook.caBundle });
});

describe('no-op updates', () => {
  it('are admitted like any update, and keep their resourceVersion', async () => {
    const created = await admin('POST', cmPath, { metadata: { name: 'same' }, data: { a: '1' } });
    expect(created.status).toBe(201);
    const put = await admin('PUT', `${cmPath}/same`, created.body);
    expect(put.status).toBe(200);
    expect(put.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
    const patched = await admin(
      'PATCH',
      `${cmPath}/same`,
      { data: { a: '1' } },
      'application/merge-patch+json',
    );
    expect(patched.status).toBe(200);
    expect(patched.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);

    expect(updates()).toHaveLength(2);
    for (const review of updates()) {
      expect(review.request.name).toBe('same');
      expect(review.request.object).toEqual(review.request.oldObject);
    }
  });

  it('can be denied, and a denied no-op changes nothing', async () => {
    const created = await admin('POST', cmPath, { metadata: { name: 'frozen' }, data: { a: '1' } });
    hook.setHandler((r: Review) =>
      r.request.operation === 'UPDATE'
        ? respond(r, { allowed: false, status: { code: 403, message: 'frozen' } })
        : respond(r),
    );
    const put = await admin('PUT', `${cmPath}/frozen`, created.body);
    expect(put.status).toBe(403);
    expect(put.body.message).toBe('admission webhook "cm.relay.test" denied the request: frozen');
    const now = await admin('GET', `${cmPath}/frozen`);
    expect(now.body.metadata.resourceVersion).toBe(created.body.metadata.resourceVersion);
  });
});

describe('denials', () => {
  it("keep the webhook's code, reason and details", async () => {
    const causes = [{ reason: 'FieldValueInvalid', field: 'data.a', message: 'must be "2"' }];
    hook.setHandler((r) =>
      respond(r, {
        allowed: false,
        status: { code: 422, reason: 'Invalid', message: 'bad data', details: { causes } },
      }),
    );
    const res = await admin('POST', cmPath, { metadata: { name: 'bad' }, data: { a: '1' } });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'admission webhook "cm.relay.test" denied the request: bad data',
      reason: 'Invalid',
      details: { causes },
      code: 422,
    });
  });

  it('carry no reason when the webhook gave none, as kube relays it', async () => {
    hook.setHandler((r) => respond(r, { allowed: false, status: { message: 'no' } }));
    const res = await admin('POST', cmPath, { metadata: { name: 'plain' } });
    expect(res.status).toBe(403);
    expect(res.body.reason).toBeUndefined();
    expect(res.body.details).toBeUndefined();
    expect(res.body.message).toBe('admission webhook "cm.relay.test" denied the request: no');
  });
});

describe('clientConfig.service', () => {
  it('reaches the webhook through a Service annotated with its address', async () => {
    await install({
      service: { namespace: 'relay', name: 'relay-hook', path: '/validate', port: 443 },
      caBundle: svcHook.caBundle,
    });
    const first = await admin('POST', cmPath, { metadata: { name: 'before-service' } });
    expect(first.status).toBe(500);
    expect(first.body.message).toContain('service "relay-hook" not found');

    const svc = await admin('POST', '/api/v1/namespaces/relay/services', {
      metadata: {
        name: 'relay-hook',
        annotations: { 'sandbox.trustgate.dev/address': `127.0.0.1:${svcHook.port}` },
      },
      spec: { ports: [{ port: 443, targetPort: 8443 }] },
    });
    expect(svc.status).toBe(201);
    svcHook.received.length = 0;
    const second = await admin('POST', cmPath, { metadata: { name: 'via-service' } });
    expect(second.status).toBe(201);
    expect(svcHook.received.map((r) => r.request.name)).toEqual(['via-service']);
  });
});
