// Bad input gets kube's Status (code, reason) and the server keeps serving.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startSandbox } from '../../hack/sandbox/index.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { rawRequest, uniqueName } from './support.ts';

let cluster: TestCluster;
const ns = uniqueName('errors');

beforeAll(async () => {
  cluster = await startTestCluster();
  await rawRequest(
    cluster.kubeConfig,
    'POST',
    '/api/v1/namespaces',
    JSON.stringify({ metadata: { name: ns } }),
  );
}, 30_000);

afterAll(async () => {
  await rawRequest(cluster.kubeConfig, 'DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
  await cluster?.stop();
});

const stillServing = async () => {
  const res = await rawRequest(cluster.kubeConfig, 'GET', `/api/v1/namespaces/${ns}`);
  expect(res.status).toBe(200);
};

describe('bad input', () => {
  it('malformed JSON → 400 BadRequest', async () => {
    const res = await rawRequest(
      cluster.kubeConfig,
      'POST',
      `/api/v1/namespaces/${ns}/configmaps`,
      '{"metadata": {',
    );
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'BadRequest',
      code: 400,
    });
    await stillServing();
  });

  it('unknown resource → 404 NotFound', async () => {
    const res = await rawRequest(
      cluster.kubeConfig,
      'GET',
      `/api/v1/namespaces/${ns}/frobnicators`,
    );
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    const group = await rawRequest(cluster.kubeConfig, 'GET', '/apis/nope.example.com/v1/things');
    expect(group.status).toBe(404);
    await stillServing();
  });

  it('invalid object → 422 Invalid with field causes', async () => {
    const res = await rawRequest(
      cluster.kubeConfig,
      'POST',
      `/api/v1/namespaces/${ns}/configmaps`,
      JSON.stringify({ metadata: { name: 'Not_Valid' } }),
    );
    expect(res.status).toBe(422);
    expect(res.json.reason).toBe('Invalid');
    expect(res.json.details.causes[0]).toMatchObject({
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
    });
    await stillServing();
  });

  it('a body over 3 MiB → 413 RequestEntityTooLarge', async () => {
    const big = JSON.stringify({
      metadata: { name: 'big' },
      data: { x: 'a'.repeat(4 * 1024 * 1024) },
    });
    const res = await rawRequest(
      cluster.kubeConfig,
      'POST',
      `/api/v1/namespaces/${ns}/configmaps`,
      big,
    );
    expect(res.status).toBe(413);
    await stillServing();
  });

  it('a patch of an unsupported type → 415', async () => {
    const res = await rawRequest(cluster.kubeConfig, 'PATCH', `/api/v1/namespaces/${ns}`, '{}', {
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(415);
    expect(res.json.reason).toBe('UnsupportedMediaType');
  });

  it('no credentials → 401 Unauthorized', async () => {
    const res = await rawRequest(cluster.kubeConfig, 'GET', '/api/v1/namespaces', undefined, {
      authorization: 'Bearer not-a-token',
    });
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });
});

describe('overload (sandbox only: a real cluster will not be made to shed load)', () => {
  it('answers 429 TooManyRequests with Retry-After past the in-flight limit', async () => {
    const sandbox = await startSandbox({ maxInflight: 1 });
    try {
      const { KubeConfig } = await import('@kubernetes/client-node');
      const kc = new KubeConfig();
      kc.loadFromFile(sandbox.kubeconfigPath);
      // One request holds the only slot by sending its body slowly...
      const server = new URL(sandbox.url);
      const opts: https.RequestOptions = {
        method: 'POST',
        hostname: server.hostname,
        port: server.port,
        path: '/api/v1/namespaces/default/configmaps',
        headers: { 'content-type': 'application/json', 'content-length': '40' },
      };
      await kc.applyToHTTPSOptions(opts);
      const slow = https.request(opts);
      const slowDone = new Promise<number>((resolve) =>
        slow.on('response', (r) => resolve(r.statusCode ?? 0)),
      );
      slow.write('{"metadata":{"name":"slow-one"}');
      await new Promise((r) => setTimeout(r, 200));
      // ...so the next one is turned away, and served again once the slot is free.
      const limited = await rawRequest(kc, 'GET', '/api/v1/namespaces/default/configmaps');
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toBe('1');
      expect(limited.json).toMatchObject({ reason: 'TooManyRequests', code: 429 });
      slow.end('        }');
      expect(await slowDone).toBe(201);
      const after = await rawRequest(kc, 'GET', '/api/v1/namespaces/default/configmaps');
      expect(after.status).toBe(200);
    } finally {
      await sandbox.stop();
    }
  });
});
