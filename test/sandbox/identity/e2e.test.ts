// Identity end to end through the sandbox's HTTPS API: TokenRequest, TokenReview,
// kubelet identities, legacy Secret tokens and authorization, as a client sees them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Sandbox } from '../../../hack/sandbox/index.ts';
import { eventually, rawRequest, startTestSandbox } from './raw.ts';

let sb: Sandbox;
let podUID: string;
let saUID: string;

const admin = (method: string, path: string, body?: unknown) =>
  rawRequest(sb, sb.adminToken, method, path, body);
const asNode = (node: string, method: string, path: string, body?: unknown) =>
  rawRequest(sb, sb.nodeToken(node), method, path, body);
const tokenRequest = (spec: Record<string, unknown>) => ({
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenRequest',
  spec,
});
const TOKEN_PATH = '/api/v1/namespaces/team-a/serviceaccounts/runner/token';
const review = async (token: string, audiences?: string[]) =>
  (
    await admin('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(audiences ? { audiences } : {}) },
    })
  ).body.status;

beforeAll(async () => {
  sb = await startTestSandbox();
  await admin('POST', '/api/v1/namespaces', { metadata: { name: 'team-a' } });
  saUID = (
    await admin('POST', '/api/v1/namespaces/team-a/serviceaccounts', {
      metadata: { name: 'runner' },
    })
  ).body.metadata.uid;
  for (const name of ['n1', 'n2']) await admin('POST', '/api/v1/nodes', { metadata: { name } });
  const pod = await admin('POST', '/api/v1/namespaces/team-a/pods', {
    metadata: { name: 'job-1' },
    spec: {
      serviceAccountName: 'runner',
      nodeName: 'n1',
      containers: [{ name: 'c', image: 'busybox' }],
    },
  });
  podUID = pod.body.metadata.uid;
});
afterAll(() => sb?.stop());

const boundToPod = () => ({
  boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'job-1', uid: podUID },
});

describe('TokenRequest over HTTPS', () => {
  it('returns a token that verifies against the served JWKS with kube claims', async () => {
    const res = await admin(
      'POST',
      TOKEN_PATH,
      tokenRequest({ audiences: ['vault'], expirationSeconds: 900, ...boundToPod() }),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: 'TokenRequest',
      spec: { audiences: ['vault'], expirationSeconds: 900 },
      status: { expirationTimestamp: expect.any(String) },
    });
    const jwks = await rawRequest(sb, sb.adminToken, 'GET', '/openid/v1/jwks');
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    const { payload } = await jwtVerify(res.body.status.token, createLocalJWKSet(jwks.body), {
      issuer: sb.url,
      audience: 'vault',
    });
    expect(payload.sub).toBe('system:serviceaccount:team-a:runner');
    expect(payload['kubernetes.io']).toMatchObject({
      pod: { name: 'job-1', uid: podUID },
      node: { name: 'n1' },
      serviceaccount: { uid: saUID },
    });
    expect((payload.exp as number) - (payload.iat as number)).toBe(900);
    expect(Date.parse(res.body.status.expirationTimestamp) / 1000).toBeLessThanOrEqual(
      payload.exp as number,
    );
  });

  it('refuses expirationSeconds under ten minutes with 422', async () => {
    const res = await admin('POST', TOKEN_PATH, tokenRequest({ expirationSeconds: 60 }));
    expect(res.status).toBe(422);
    expect(res.body.message).toBe(
      'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes',
    );
  });
});

describe('kubelet identities', () => {
  it('lets a node get tokens only for pods bound to it', async () => {
    const other = await asNode('n2', 'POST', TOKEN_PATH, tokenRequest(boundToPod()));
    expect(other.status).toBe(403);
    expect(other.body.message).toBe(
      `serviceaccounts "runner" is forbidden: User "system:node:n2" cannot create resource "serviceaccounts/token" in API group "" in the namespace "team-a": no relationship found between node 'n2' and this object`,
    );
    const unbound = await asNode('n1', 'POST', TOKEN_PATH, tokenRequest({}));
    expect(unbound.status).toBe(403);
    expect(unbound.body.message).toBe(
      'serviceaccounts "runner" is forbidden: node requested token not bound to a pod',
    );
    const own = await asNode('n1', 'POST', TOKEN_PATH, tokenRequest(boundToPod()));
    expect(own.status).toBe(201);
    const status = await review(own.body.status.token);
    expect(status).toMatchObject({
      authenticated: true,
      user: {
        username: 'system:serviceaccount:team-a:runner',
        extra: { 'authentication.kubernetes.io/node-name': ['n1'] },
      },
    });
  });

  it('lets a node update its own node status but not another node, nor its taints', async () => {
    const mine = await rawRequest(
      sb,
      sb.nodeToken('n1'),
      'PATCH',
      '/api/v1/nodes/n1/status',
      { status: { conditions: [{ type: 'Ready', status: 'True' }] } },
      'application/merge-patch+json',
    );
    expect(mine.status).toBe(200);
    expect(mine.body.status.conditions).toEqual([{ type: 'Ready', status: 'True' }]);
    const taint = await rawRequest(
      sb,
      sb.nodeToken('n1'),
      'PATCH',
      '/api/v1/nodes/n1',
      { spec: { taints: [{ key: 'x', effect: 'NoSchedule' }] } },
      'application/merge-patch+json',
    );
    expect(taint.status).toBe(403);
    expect(taint.body.message).toBe(
      'nodes "n1" is forbidden: node "n1" is not allowed to modify taints',
    );
    const n2 = (await admin('GET', '/api/v1/nodes/n2')).body;
    const steal = await asNode('n1', 'PUT', '/api/v1/nodes/n2', {
      ...n2,
      metadata: { ...n2.metadata, labels: { stolen: 'yes' } },
    });
    expect(steal.status).toBe(403);
    expect(steal.body.message).toBe(
      'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"',
    );
  });
});

describe('TokenReview over HTTPS', () => {
  it('stops authenticating a token whose pod is gone, or whose service account was recreated', async () => {
    const pod = await admin('POST', '/api/v1/namespaces/team-a/pods', {
      metadata: { name: 'short' },
      spec: { serviceAccountName: 'runner', containers: [{ name: 'c', image: 'x' }] },
    });
    const bound = await admin(
      'POST',
      TOKEN_PATH,
      tokenRequest({
        boundObjectRef: {
          apiVersion: 'v1',
          kind: 'Pod',
          name: 'short',
          uid: pod.body.metadata.uid,
        },
      }),
    );
    const unbound = await admin('POST', TOKEN_PATH, tokenRequest({}));
    expect((await review(bound.body.status.token)).authenticated).toBe(true);
    // A bound token calls the API as its service account, and is refused what it may not do.
    const list = await rawRequest(
      sb,
      bound.body.status.token,
      'GET',
      '/api/v1/namespaces/team-a/pods',
    );
    expect(list.status).toBe(403);
    expect(list.body.message).toBe(
      'pods is forbidden: User "system:serviceaccount:team-a:runner" cannot list resource "pods" in API group "" in the namespace "team-a"',
    );

    await admin('DELETE', '/api/v1/namespaces/team-a/pods/short?gracePeriodSeconds=0');
    expect(await review(bound.body.status.token)).toMatchObject({
      authenticated: false,
      error: '[invalid bearer token, service account token has been invalidated]',
    });
    expect(
      (await rawRequest(sb, bound.body.status.token, 'GET', '/api/v1/namespaces/team-a/pods'))
        .status,
    ).toBe(401);

    expect((await review(unbound.body.status.token)).authenticated).toBe(true);
    await admin('DELETE', '/api/v1/namespaces/team-a/serviceaccounts/runner');
    const recreated = await admin('POST', '/api/v1/namespaces/team-a/serviceaccounts', {
      metadata: { name: 'runner' },
    });
    expect((await review(unbound.body.status.token)).error).toBe(
      `[invalid bearer token, service account UID (${recreated.body.metadata.uid}) does not match claim (${saUID})]`,
    );
    saUID = recreated.body.metadata.uid;
  });

  it('checks audiences', async () => {
    const res = await admin('POST', TOKEN_PATH, tokenRequest({ audiences: ['vault'] }));
    expect(await review(res.body.status.token, ['vault', 'other'])).toMatchObject({
      authenticated: true,
      audiences: ['vault'],
    });
    expect((await review(res.body.status.token)).error).toBe(
      `[invalid bearer token, token audiences ["vault"] is invalid for the target audiences ["${sb.url}"]]`,
    );
  });

  it('authenticates a legacy Secret token until the Secret is deleted', async () => {
    await admin('POST', '/api/v1/namespaces/team-a/secrets', {
      metadata: {
        name: 'runner-token',
        annotations: { 'kubernetes.io/service-account.name': 'runner' },
      },
      type: 'kubernetes.io/service-account-token',
    });
    const token = await eventually(async () => {
      const s = (await admin('GET', '/api/v1/namespaces/team-a/secrets/runner-token')).body;
      return s.data?.token ? Buffer.from(s.data.token, 'base64').toString() : undefined;
    });
    expect(await review(token)).toMatchObject({
      authenticated: true,
      user: { username: 'system:serviceaccount:team-a:runner' },
    });
    await admin('DELETE', '/api/v1/namespaces/team-a/secrets/runner-token');
    expect((await review(token)).error).toBe('[invalid bearer token, Token has been invalidated]');
  });
});
