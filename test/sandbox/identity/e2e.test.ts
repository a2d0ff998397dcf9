// Identity end to end through the API over HTTPS: TokenRequest, TokenReview, kubelet
// identities, legacy Secret tokens and authorization, as a client sees them. Runs on the
// sandbox and unchanged on a real cluster: kubelets are played with the cluster's own
// kubelet credentials (cluster.nodeKubeConfig), and where kube-apiserver caches a token's
// authentication (about 10 s) the test waits for the cache to let go.
import { randomBytes, type webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { createLocalJWKSet, importJWK, jwtVerify } from 'jose';
import { keyIdOf } from '../../../hack/sandbox/identity/signer.ts';
import type { TestCluster } from '../../support/cluster.ts';
import { eventually } from '../support.ts';
import { kubeRequest, startCluster } from './raw.ts';

let cluster: TestCluster;
let issuer: string;
let podUID: string;
let saUID: string;
const suffix = randomBytes(3).toString('hex');
const NS = `tg-identity-${suffix}`;
const N1 = `tg-n1-${suffix}`;
const N2 = `tg-n2-${suffix}`;

const admin = (method: string, path: string, body?: unknown) =>
  kubeRequest(cluster.kubeConfig, undefined, method, path, body);
const as = (token: string, method: string, path: string, body?: unknown, contentType?: string) =>
  kubeRequest(cluster.kubeConfig, token, method, path, body, contentType);
const nodeConfigs = new Map<string, Promise<KubeConfig>>();
/** A request as the kubelet of `node`, with the credentials the cluster gives kubelets. */
const asNode = async (
  node: string,
  method: string,
  path: string,
  body?: unknown,
  contentType?: string,
) => {
  if (!nodeConfigs.has(node)) nodeConfigs.set(node, cluster.nodeKubeConfig(node));
  const kc = (await nodeConfigs.get(node)) as KubeConfig;
  return kubeRequest(kc, undefined, method, path, body, contentType);
};
/** kube-apiserver caches a token's successful authentication for 10 s. */
const TOKEN_CACHE_MS = 20_000;
/** Reviews `token` until `done` holds for its status (the cache let go), returns the status. */
const reviewUntil = (
  token: string,
  // biome-ignore lint/suspicious/noExplicitAny: a TokenReview status
  done: (status: any) => boolean,
) =>
  eventually(async () => {
    const status = await review(token);
    return done(status) ? status : undefined;
  }, TOKEN_CACHE_MS);
const tokenRequest = (spec: Record<string, unknown>) => ({
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenRequest',
  spec,
});
const TOKEN_PATH = `/api/v1/namespaces/${NS}/serviceaccounts/runner/token`;
const review = async (token: string, audiences?: string[]) =>
  (
    await admin('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, ...(audiences ? { audiences } : {}) },
    })
  ).body.status;

beforeAll(async () => {
  cluster = await startCluster();
  issuer = (await admin('GET', '/.well-known/openid-configuration')).body.issuer;
  await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } });
  saUID = (
    await admin('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, {
      metadata: { name: 'runner' },
    })
  ).body.metadata.uid;
  for (const name of [N1, N2]) await admin('POST', '/api/v1/nodes', { metadata: { name } });
  const pod = await admin('POST', `/api/v1/namespaces/${NS}/pods`, {
    metadata: { name: 'job-1' },
    spec: {
      serviceAccountName: 'runner',
      nodeName: N1,
      containers: [{ name: 'c', image: 'busybox' }],
    },
  });
  podUID = pod.body.metadata.uid;
});
afterAll(async () => {
  if (!cluster) return;
  await admin('DELETE', `/api/v1/namespaces/${NS}`);
  for (const name of [N1, N2]) await admin('DELETE', `/api/v1/nodes/${name}`);
  await cluster.stop();
});

const boundToPod = () => ({
  boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'job-1', uid: podUID },
});
const SA_USER = () => `system:serviceaccount:${NS}:runner`;

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
    // The key set is served as application/jwk-set+json only.
    const asJSON = await admin('GET', '/openid/v1/jwks');
    expect(asJSON.status).toBe(406);
    expect(asJSON.body).toMatchObject({ reason: 'NotAcceptable', code: 406 });
    const jwks = await kubeRequest(
      cluster.kubeConfig,
      undefined,
      'GET',
      '/openid/v1/jwks',
      undefined,
      undefined,
      'application/jwk-set+json',
    );
    expect(jwks.headers['content-type']).toBe('application/jwk-set+json');
    expect(jwks.body.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    // The key id is derived from the public key the way the sandbox's signer derives it.
    const publicKey = (await importJWK(jwks.body.keys[0], 'RS256')) as webcrypto.CryptoKey;
    expect(jwks.body.keys[0].kid).toBe(await keyIdOf(publicKey));
    const { payload } = await jwtVerify(res.body.status.token, createLocalJWKSet(jwks.body), {
      issuer,
      audience: 'vault',
    });
    expect(payload.sub).toBe(SA_USER());
    expect(payload['kubernetes.io']).toMatchObject({
      namespace: NS,
      pod: { name: 'job-1', uid: podUID },
      node: { name: N1 },
      serviceaccount: { name: 'runner', uid: saUID },
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
    const other = await asNode(N2, 'POST', TOKEN_PATH, tokenRequest(boundToPod()));
    expect(other.status).toBe(403);
    expect(other.body.message).toBe(
      `serviceaccounts "runner" is forbidden: User "system:node:${N2}" cannot create resource "serviceaccounts/token" in API group "" in the namespace "${NS}": no relationship found between node '${N2}' and this object`,
    );
    const unbound = await asNode(N1, 'POST', TOKEN_PATH, tokenRequest({}));
    expect(unbound.status).toBe(403);
    expect(unbound.body.message).toBe(
      'serviceaccounts "runner" is forbidden: node requested token not bound to a pod',
    );
    const own = await asNode(N1, 'POST', TOKEN_PATH, tokenRequest(boundToPod()));
    expect(own.status).toBe(201);
    expect(await review(own.body.status.token)).toMatchObject({
      authenticated: true,
      user: { username: SA_USER(), extra: { 'authentication.kubernetes.io/node-name': [N1] } },
    });
  });

  it('lets a node update its own node status, not its taints, not another node', async () => {
    const merge = 'application/merge-patch+json';
    const ready = { status: { conditions: [{ type: 'Ready', status: 'True' }] } };
    const mine = await asNode(N1, 'PATCH', `/api/v1/nodes/${N1}/status`, ready, merge);
    expect(mine.status).toBe(200);
    // (kube serializes the unset condition times as null.)
    expect(mine.body.status.conditions).toMatchObject([{ type: 'Ready', status: 'True' }]);
    const taints = { spec: { taints: [{ key: 'x', effect: 'NoSchedule' }] } };
    const taint = await asNode(N1, 'PATCH', `/api/v1/nodes/${N1}`, taints, merge);
    expect(taint.status).toBe(403);
    expect(taint.body.message).toBe(
      `nodes "${N1}" is forbidden: node "${N1}" is not allowed to modify taints`,
    );
    const steal = await asNode(
      N1,
      'PATCH',
      `/api/v1/nodes/${N2}`,
      { metadata: { labels: { stolen: 'yes' } } },
      merge,
    );
    expect(steal.status).toBe(403);
    expect(steal.body.message).toBe(
      `nodes "${N2}" is forbidden: node "${N1}" is not allowed to modify node "${N2}"`,
    );
  });
});

describe('TokenReview over HTTPS', () => {
  it('stops authenticating a token whose pod is gone, or whose service account was recreated', async () => {
    const pod = await admin('POST', `/api/v1/namespaces/${NS}/pods`, {
      metadata: { name: 'short' },
      spec: { serviceAccountName: 'runner', containers: [{ name: 'c', image: 'x' }] },
    });
    const ref = { apiVersion: 'v1', kind: 'Pod', name: 'short', uid: pod.body.metadata.uid };
    const bound = (await admin('POST', TOKEN_PATH, tokenRequest({ boundObjectRef: ref }))).body
      .status.token;
    const unbound = (await admin('POST', TOKEN_PATH, tokenRequest({}))).body.status.token;
    expect((await review(bound)).authenticated).toBe(true);
    // A bound token calls the API as its service account, and is refused what it may not do.
    const list = await as(bound, 'GET', `/api/v1/namespaces/${NS}/pods`);
    expect(list.status).toBe(403);
    expect(list.body.message).toBe(
      `pods is forbidden: User "${SA_USER()}" cannot list resource "pods" in API group "" in the namespace "${NS}"`,
    );

    await admin('DELETE', `/api/v1/namespaces/${NS}/pods/short?gracePeriodSeconds=0`);
    const gone = await reviewUntil(bound, (s) => !s.authenticated);
    // kube leaves `authenticated` out when false (omitempty).
    expect(gone).not.toHaveProperty('authenticated');
    expect(gone).toMatchObject({
      user: {},
      error: '[invalid bearer token, service account token has been invalidated]',
    });
    expect((await as(bound, 'GET', `/api/v1/namespaces/${NS}/pods`)).status).toBe(401);

    expect((await review(unbound)).authenticated).toBe(true);
    await admin('DELETE', `/api/v1/namespaces/${NS}/serviceaccounts/runner`);
    const recreated = await admin('POST', `/api/v1/namespaces/${NS}/serviceaccounts`, {
      metadata: { name: 'runner' },
    });
    expect((await reviewUntil(unbound, (s) => !s.authenticated)).error).toBe(
      `[invalid bearer token, service account UID (${recreated.body.metadata.uid}) does not match claim (${saUID})]`,
    );
    saUID = recreated.body.metadata.uid;
  });

  it('checks audiences', async () => {
    const token = (await admin('POST', TOKEN_PATH, tokenRequest({ audiences: ['vault'] }))).body
      .status.token;
    expect(await review(token, ['vault', 'other'])).toMatchObject({
      authenticated: true,
      audiences: ['vault'],
    });
    expect((await review(token)).error).toMatch(
      /^\[invalid bearer token, token audiences \["vault"\] is invalid for the target audiences \[.+\]\]$/,
    );
  });

  it('authenticates a legacy Secret token until the Secret is deleted', async () => {
    await admin('POST', `/api/v1/namespaces/${NS}/secrets`, {
      metadata: {
        name: 'runner-token',
        annotations: { 'kubernetes.io/service-account.name': 'runner' },
      },
      type: 'kubernetes.io/service-account-token',
    });
    // kube-controller-manager's token controller fills it in.
    const token = await eventually(async () => {
      const s = (await admin('GET', `/api/v1/namespaces/${NS}/secrets/runner-token`)).body;
      return s.data?.token ? Buffer.from(s.data.token, 'base64').toString() : undefined;
    }, 20_000);
    expect(await review(token)).toMatchObject({
      authenticated: true,
      user: { username: SA_USER() },
    });
    await admin('DELETE', `/api/v1/namespaces/${NS}/secrets/runner-token`);
    expect((await reviewUntil(token, (s) => !s.authenticated)).error).toBe(
      '[invalid bearer token, Token has been invalidated]',
    );
  });
});
