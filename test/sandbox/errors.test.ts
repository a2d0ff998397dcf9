// Bad input gets kube's Status (code, reason) and the server keeps serving.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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

  it('a bearer token that authenticates no one → 401 Unauthorized', async () => {
    const res = await rawRequest(
      cluster.kubeConfig,
      'GET',
      '/api/v1/namespaces',
      undefined,
      { authorization: 'Bearer not-a-token' },
      true,
    );
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });

  it('no credentials → system:anonymous: health and version only, 403 for the rest', async () => {
    // kube-apiserver's default --anonymous-auth=true: a request without credentials is
    // system:anonymous (group system:unauthenticated), which the default roles let read
    // /version and the health checks, and nothing else.
    const anonymous = (path: string) =>
      rawRequest(cluster.kubeConfig, 'GET', path, undefined, {}, true);
    expect((await anonymous('/version')).status).toBe(200);
    expect((await anonymous('/readyz')).status).toBe(200);
    const list = await anonymous('/api/v1/namespaces');
    expect(list.status).toBe(403);
    expect(list.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(list.json.message).toBe(
      'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope',
    );
    const jwks = await anonymous('/openid/v1/jwks');
    expect(jwks.status).toBe(403);
    expect(jwks.json.message).toBe(
      'forbidden: User "system:anonymous" cannot get path "/openid/v1/jwks"',
    );
    expect((await anonymous('/apis')).json.message).toBe(
      'forbidden: User "system:anonymous" cannot get path "/apis"',
    );
  });
});
