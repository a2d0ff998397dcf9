// TokenRequest / TokenReview against an in-memory store: real RS256 JWTs checked with jose
// against the published JWKS, and kube's bound-object rules.
import { beforeEach, describe, expect, it } from '@jest/globals';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { StatusError } from '../../../hack/sandbox/errors.ts';
import { createTokenAuthority, type TokenAuthority } from '../../../hack/sandbox/tokens.ts';
import type { KubeObject } from '../../../hack/sandbox/types.ts';
import { FakeStore, fakeContext, pod, R } from './fake-store.ts';

const ISSUER = 'https://127.0.0.1:6443';

let store: FakeStore;
let clock: number;
let authority: TokenAuthority;
let sa: KubeObject;
let node: KubeObject;
let boundPod: KubeObject;

beforeEach(async () => {
  store = new FakeStore();
  clock = Date.parse('2026-11-25T12:00:00Z');
  authority = await createTokenAuthority(fakeContext(store), { now: () => clock });
  sa = store.put(R.serviceaccounts, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { namespace: 'team-a', name: 'runner' },
  });
  node = store.put(R.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
  boundPod = store.put(
    R.pods,
    pod('team-a', 'job-1', { serviceAccountName: 'runner', nodeName: 'n1' }),
  );
});

const request = (spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenRequest',
  metadata: {},
  spec,
});

const podRef = (p: KubeObject) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  name: p.metadata.name,
  uid: p.metadata.uid,
});

async function mint(spec: Record<string, unknown> = {}): Promise<string> {
  const out = await authority.createToken(sa, request(spec));
  return (out.status as { token: string }).token;
}

async function review(token: string, audiences?: string[]) {
  const out = await authority.reviewToken({
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenReview',
    metadata: {},
    spec: audiences ? { token, audiences } : { token },
  });
  return out.status as {
    authenticated: boolean;
    user: Record<string, unknown>;
    audiences?: string[];
    error?: string;
  };
}

describe('TokenRequest', () => {
  it('mints an RS256 JWT with kube claims that verifies against the JWKS', async () => {
    const out = await authority.createToken(
      sa,
      request({ audiences: ['vault'], expirationSeconds: 1200, boundObjectRef: podRef(boundPod) }),
    );
    const token = (out.status as { token: string }).token;
    const { payload } = await jwtVerify(token, createLocalJWKSet(authority.jwks()), {
      issuer: ISSUER,
      audience: 'vault',
      currentDate: new Date(clock),
    });
    const now = clock / 1000;
    expect(payload).toMatchObject({
      iss: ISSUER,
      sub: 'system:serviceaccount:team-a:runner',
      aud: ['vault'],
      iat: now,
      nbf: now,
      exp: now + 1200,
      'kubernetes.io': {
        namespace: 'team-a',
        serviceaccount: { name: 'runner', uid: sa.metadata.uid },
        pod: { name: 'job-1', uid: boundPod.metadata.uid },
        node: { name: 'n1', uid: node.metadata.uid },
      },
    });
    expect(typeof payload.jti).toBe('string');
    expect(decodeProtectedHeader(token)).toEqual({
      alg: 'RS256',
      kid: authority.jwks().keys[0]?.kid,
    });
    expect(out).toMatchObject({
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: 'runner', namespace: 'team-a' },
      spec: { audiences: ['vault'], expirationSeconds: 1200 },
      status: { expirationTimestamp: '2026-11-25T12:20:00Z' },
    });
  });

  it('defaults to one hour and the API audience, bound to nothing but the service account', async () => {
    const out = await authority.createToken(sa, request());
    expect(out.spec).toEqual({ audiences: [ISSUER], expirationSeconds: 3600 });
    const payload = JSON.parse(
      Buffer.from(
        (out.status as { token: string }).token.split('.')[1] ?? '',
        'base64url',
      ).toString(),
    );
    expect(payload['kubernetes.io']).toEqual({
      namespace: 'team-a',
      serviceaccount: { name: 'runner', uid: sa.metadata.uid },
    });
    expect(payload.exp - payload.iat).toBe(3600);
  });

  it('refuses less than ten minutes with kube 422 wording', async () => {
    await expect(
      authority.createToken(sa, request({ expirationSeconds: 599 })),
    ).rejects.toMatchObject({
      code: 422,
      reason: 'Invalid',
      message:
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes',
    });
  });

  it('checks the bound object: exists, same uid, same service account, supported kind', async () => {
    await expect(
      mint({ boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'nope' } }),
    ).rejects.toMatchObject({ code: 404, message: 'pods "nope" not found' });
    await expect(
      mint({ boundObjectRef: { ...podRef(boundPod), uid: 'stale' } }),
    ).rejects.toMatchObject({
      code: 409,
      message:
        'Operation cannot be fulfilled on Pod "job-1": the UID in the bound object reference (stale) does not match the UID in record. The object might have been deleted and then recreated',
    });
    const other = store.put(R.pods, pod('team-a', 'other', { serviceAccountName: 'default' }));
    await expect(mint({ boundObjectRef: podRef(other) })).rejects.toMatchObject({
      code: 400,
      message:
        'cannot bind token for serviceaccount "runner" to pod running with different serviceaccount name.',
    });
    await expect(
      mint({ boundObjectRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'd' } }),
    ).rejects.toMatchObject({
      code: 400,
      message: 'cannot bind token to object of type apps/v1, Kind=Deployment',
    });
  });

  it('refuses a body naming another service account', async () => {
    const err = (await authority
      .createToken(sa, { ...request(), metadata: { name: 'other' } })
      .catch((e) => e)) as StatusError;
    expect(err.code).toBe(422);
    expect(err.message).toContain(
      'metadata.name: Invalid value: "other": must match the service account name if specified',
    );
  });
});

describe('TokenReview', () => {
  it('authenticates a pod-bound token as the service account with pod and node extras', async () => {
    const token = await mint({ boundObjectRef: podRef(boundPod) });
    const status = await review(token);
    expect(status.authenticated).toBe(true);
    expect(status.audiences).toEqual([ISSUER]);
    expect(status.user).toMatchObject({
      username: 'system:serviceaccount:team-a:runner',
      uid: sa.metadata.uid,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated'],
      extra: {
        'authentication.kubernetes.io/pod-name': ['job-1'],
        'authentication.kubernetes.io/pod-uid': [boundPod.metadata.uid],
        'authentication.kubernetes.io/node-name': ['n1'],
        'authentication.kubernetes.io/node-uid': [node.metadata.uid],
      },
    });
    expect(
      (status.user.extra as Record<string, string[]>)[
        'authentication.kubernetes.io/credential-id'
      ]?.[0],
    ).toMatch(/^JTI=/);
    expect(await authority.authenticate(token)).toMatchObject({
      username: 'system:serviceaccount:team-a:runner',
    });
  });

  it('stops authenticating once the bound pod is deleted or recreated', async () => {
    const token = await mint({ boundObjectRef: podRef(boundPod) });
    store.remove(R.pods, 'team-a', 'job-1');
    expect(await review(token)).toMatchObject({
      error: '[invalid bearer token, service account token has been invalidated]',
    });
    const again = store.put(
      R.pods,
      pod('team-a', 'job-1', { serviceAccountName: 'runner', nodeName: 'n1' }),
    );
    expect((await review(token)).error).toBe(
      `[invalid bearer token, pod UID (${again.metadata.uid}) does not match service account pod ref claim (${boundPod.metadata.uid})]`,
    );
    expect(await authority.authenticate(token)).toBeNull();
  });

  it('honours a pod deletionTimestamp only after the leeway', async () => {
    const token = await mint({ boundObjectRef: podRef(boundPod) });
    store.put(R.pods, {
      ...boundPod,
      metadata: { ...boundPod.metadata, deletionTimestamp: new Date(clock - 30_000).toISOString() },
    });
    expect((await review(token)).authenticated).toBe(true);
    store.put(R.pods, {
      ...boundPod,
      metadata: { ...boundPod.metadata, deletionTimestamp: new Date(clock - 61_000).toISOString() },
    });
    expect((await review(token)).error).toBe(
      '[invalid bearer token, service account token has been invalidated]',
    );
  });

  it('stops authenticating when the service account is deleted or recreated with a new uid', async () => {
    const token = await mint();
    store.remove(R.serviceaccounts, 'team-a', 'runner');
    expect((await review(token)).error).toBe(
      '[invalid bearer token, serviceaccounts "runner" not found]',
    );
    const recreated = store.put(R.serviceaccounts, {
      metadata: { namespace: 'team-a', name: 'runner' },
    });
    expect((await review(token)).error).toBe(
      `[invalid bearer token, service account UID (${recreated.metadata.uid}) does not match claim (${sa.metadata.uid})]`,
    );
  });

  it('stops authenticating a secret-bound token when the secret is deleted', async () => {
    const secret = store.put(R.secrets, { metadata: { namespace: 'team-a', name: 'anchor' } });
    const token = await mint({
      boundObjectRef: {
        apiVersion: 'v1',
        kind: 'Secret',
        name: 'anchor',
        uid: secret.metadata.uid,
      },
    });
    expect((await review(token)).authenticated).toBe(true);
    store.remove(R.secrets, 'team-a', 'anchor');
    expect((await review(token)).error).toBe(
      '[invalid bearer token, service account token has been invalidated]',
    );
  });

  it('checks the audience and reports the intersection', async () => {
    const token = await mint({ audiences: ['vault', 'api'] });
    expect(await review(token, ['vault'])).toMatchObject({
      authenticated: true,
      audiences: ['vault'],
    });
    expect(await review(token)).toMatchObject({
      error: `[invalid bearer token, token audiences ["vault" "api"] is invalid for the target audiences ["${ISSUER}"]]`,
    });
    // Not meant for this API server, so it cannot call it.
    expect(await authority.authenticate(token)).toBeNull();
  });

  it('rejects an expired token after the one-minute leeway', async () => {
    const token = await mint({ expirationSeconds: 600 });
    clock += 600_000 + 59_000;
    expect((await review(token)).authenticated).toBe(true);
    clock += 2_000;
    expect((await review(token)).error).toBe(
      '[invalid bearer token, service account token has expired]',
    );
  });

  it('rejects a token with a forged signature or from another issuer', async () => {
    const token = await mint();
    const [h, p] = token.split('.');
    const forged = `${h}.${p}.${Buffer.from('not a signature').toString('base64url')}`;
    expect((await review(forged)).authenticated).toBeUndefined();
    const other = await createTokenAuthority(fakeContext(store), { now: () => clock });
    const foreign = (await other.createToken(sa, request())).status as { token: string };
    expect((await review(foreign.token)).error).toBe(
      '[invalid bearer token, go-jose/go-jose: error in cryptographic primitive]',
    );
    expect(await review('garbage')).toMatchObject({
      error: 'invalid bearer token',
    });
  });

  it('reviews the static admin and node tokens as kube reviews static tokens', async () => {
    expect(await review(authority.adminToken)).toMatchObject({
      authenticated: true,
      user: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
    });
    expect(await review(authority.nodeToken('n1'))).toMatchObject({
      authenticated: true,
      user: { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] },
    });
    expect(authority.nodeToken('n1')).toBe(authority.nodeToken('n1'));
    expect((await review(authority.adminToken, ['vault'])).authenticated).toBeUndefined();
  });

  it('requires a token', async () => {
    await expect(authority.reviewToken({ metadata: {}, spec: {} })).rejects.toMatchObject({
      code: 400,
      message: 'token is required for TokenReview in authentication',
    });
  });
});

describe('legacy Secret tokens', () => {
  const legacySecret = (over: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: {
      namespace: 'team-a',
      name: 'runner-token',
      annotations: { 'kubernetes.io/service-account.name': 'runner' },
    },
    ...over,
  });

  it('are filled in like the token controller does and die with their Secret', async () => {
    const filled = await authority.populateLegacySecret(store.put(R.secrets, legacySecret()));
    expect(filled?.metadata.annotations?.['kubernetes.io/service-account.uid']).toBe(
      sa.metadata.uid,
    );
    const data = filled?.data as Record<string, string>;
    expect(Buffer.from(data.namespace ?? '', 'base64').toString()).toBe('team-a');
    const token = Buffer.from(data.token ?? '', 'base64').toString();
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString());
    expect(payload).toEqual({
      iss: 'kubernetes/serviceaccount',
      sub: 'system:serviceaccount:team-a:runner',
      'kubernetes.io/serviceaccount/namespace': 'team-a',
      'kubernetes.io/serviceaccount/secret.name': 'runner-token',
      'kubernetes.io/serviceaccount/service-account.name': 'runner',
      'kubernetes.io/serviceaccount/service-account.uid': sa.metadata.uid,
    });
    // Not stored yet: the Secret on record holds no token.
    expect((await review(token)).error).toBe(
      "[invalid bearer token, Token does not match server's copy]",
    );
    store.put(R.secrets, filled as KubeObject);
    expect(await review(token)).toMatchObject({
      authenticated: true,
      user: { username: 'system:serviceaccount:team-a:runner' },
    });
    store.remove(R.secrets, 'team-a', 'runner-token');
    expect((await review(token)).error).toBe('[invalid bearer token, Token has been invalidated]');
  });

  it('are left alone when not applicable', async () => {
    expect(await authority.populateLegacySecret(legacySecret({ type: 'Opaque' }))).toBeUndefined();
    expect(
      await authority.populateLegacySecret(legacySecret({ data: { token: 'eA==' } })),
    ).toBeUndefined();
    const orphan = legacySecret();
    orphan.metadata.annotations = { 'kubernetes.io/service-account.name': 'ghost' };
    expect(await authority.populateLegacySecret(orphan)).toBeUndefined();
  });
});
