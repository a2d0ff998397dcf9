import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { exportJWK, generateKeyPair, generateSecret } from 'jose';
import { semanticErrors, semanticWarnings } from '../../../operator/api/semantic.ts';
import { defaultedResource } from '../../../operator/schema/resources.ts';

const API = 'trustgate.dev/v1alpha1';

async function publicJwk(alg: string, kid?: string) {
  const { publicKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(publicKey)), ...(kid ? { kid } : {}) };
}

const policyWith = (verifier: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  defaultedResource({
    apiVersion: API,
    kind: 'EndpointTrustPolicy',
    metadata: { name: 'p' },
    spec: { attestation: { verifiers: [{ name: 'v', issuer: 'i', ...verifier }] }, ...extra },
  }).object;

const fields = async (obj: unknown) => (await semanticErrors(obj)).map((e) => e.field);

describe('policy JWKS', () => {
  it('accepts public keys usable with a listed algorithm', async () => {
    const ec = await publicJwk('ES256', 'a');
    const rsa = await publicJwk('PS256', 'b');
    expect(await semanticErrors(policyWith({ jwks: { keys: [ec] } }))).toEqual([]);
    expect(
      await semanticErrors(
        policyWith({ jwks: { keys: [ec, rsa] }, algorithms: ['ES256', 'PS256'] }),
      ),
    ).toEqual([]);
    expect(
      await semanticErrors(
        policyWith({ jwks: { keys: [await publicJwk('EdDSA')] }, algorithms: ['EdDSA'] }),
      ),
    ).toEqual([]);
  });

  it('refuses a key no listed algorithm can use', async () => {
    const p384 = await publicJwk('ES384', 'k');
    const errs = await semanticErrors(policyWith({ jwks: { keys: [p384] } })); // algorithms default to ES256
    expect(errs).toEqual([
      {
        field: 'spec.attestation.verifiers[0].jwks.keys[0]',
        reason: 'FieldValueInvalid',
        message:
          'Invalid value: {"kty":"EC","crv":"P-384","kid":"k"}: is not a valid public key for any of the verifier\'s algorithms (ES256)',
      },
    ]);
    const rsa = await publicJwk('RS256', 'r');
    expect(await fields(policyWith({ jwks: { keys: [rsa] }, algorithms: ['ES256'] }))).toEqual([
      'spec.attestation.verifiers[0].jwks.keys[0]',
    ]);
  });

  it('refuses private keys and symmetric keys without echoing key material', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const priv = { ...(await exportJWK(privateKey)), kid: 'priv' };
    const oct = {
      ...(await exportJWK(await generateSecret('HS256', { extractable: true }))),
      kid: 'oct',
    };
    const errs = await semanticErrors(policyWith({ jwks: { keys: [priv, oct] } }));
    expect(errs.map((e) => e.field)).toEqual([
      'spec.attestation.verifiers[0].jwks.keys[0]',
      'spec.attestation.verifiers[0].jwks.keys[1]',
    ]);
    expect(errs[0]?.message).toContain('is a private key (has "d")');
    expect(errs[1]?.message).toContain('symmetric (oct) keys are not allowed');
    for (const e of errs) {
      expect(e.message).not.toContain(String(priv.d));
      expect(e.message).not.toContain(String(oct.k));
    }
  });

  it('refuses garbage, wrong use, a key alg outside the list and small RSA keys', async () => {
    const ec = await publicJwk('ES256');
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const small = { ...publicKey.export({ format: 'jwk' }), kid: 's' };
    const errs = await semanticErrors(
      policyWith({
        jwks: {
          keys: [
            { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', kid: 'g' },
            { ...ec, kid: 'u', use: 'enc' },
            { ...ec, kid: 'a', alg: 'ES384' },
            small,
            { kty: 'XYZ', kid: 'x' },
          ],
        },
        algorithms: ['ES256', 'RS256'],
      }),
    );
    expect(errs.map((e) => e.message.replace(/^Invalid value: \{[^}]*\}: /, ''))).toEqual([
      "is not a valid public key for any of the verifier's algorithms (ES256, RS256)",
      'use must be "sig", not "enc"',
      `the key's alg "ES384" is not among the verifier's algorithms (ES256, RS256)`,
      'RSA keys must be 2048 bits or larger',
      'kty must be one of "EC", "RSA", "OKP"',
    ]);
  });

  it('wants unique kids, and a kid on every key when there are several', async () => {
    const a = await publicJwk('ES256', 'same');
    const b = await publicJwk('ES256', 'same');
    const c = await publicJwk('ES256');
    expect(await semanticErrors(policyWith({ jwks: { keys: [a, b, c] } }))).toEqual([
      {
        field: 'spec.attestation.verifiers[0].jwks.keys[1].kid',
        reason: 'FieldValueDuplicate',
        message: 'Duplicate value: "same"',
      },
      {
        field: 'spec.attestation.verifiers[0].jwks.keys[2].kid',
        reason: 'FieldValueRequired',
        message:
          'Required value: a verifier with several keys needs a kid on each, so tokens can name theirs',
      },
    ]);
    expect(await semanticErrors(policyWith({ jwks: { keys: [c] } }))).toEqual([]);
  });
});

describe('policy selectors and exemptions', () => {
  it('checks label keys and values with kube syntax', async () => {
    const ec = await publicJwk('ES256', 'k');
    const obj = policyWith(
      { jwks: { keys: [ec] } },
      {
        nodeSelector: {
          matchLabels: {
            'node-role.kubernetes.io/ci': 'true',
            'bad key': 'ok',
            good: 'bad value!',
          },
        },
        workloadSelector: {
          podSelector: {
            matchExpressions: [{ key: '-x', operator: 'In', values: ['ok', 'no way'] }],
          },
        },
        exemptions: [
          {
            name: 'e',
            namespaces: ['Not_A_Namespace'],
            expiresAt: '2026-12-01T00:00:00Z',
            reason: 'r',
          },
        ],
      },
    );
    expect(await fields(obj)).toEqual([
      'spec.nodeSelector.matchLabels',
      'spec.nodeSelector.matchLabels',
      'spec.workloadSelector.podSelector.matchExpressions[0].key',
      'spec.workloadSelector.podSelector.matchExpressions[0].values[1]',
      'spec.exemptions[0].namespaces[0]',
    ]);
  });

  it('warns about exemptions already expired', () => {
    const obj = {
      apiVersion: API,
      kind: 'EndpointTrustPolicy',
      spec: {
        exemptions: [
          { name: 'e', expiresAt: '2026-01-01T00:00:00Z' },
          { name: 'f', expiresAt: '2027-01-01T00:00:00Z' },
        ],
      },
    };
    expect(semanticWarnings(obj, { now: new Date('2026-11-25T00:00:00Z') })).toEqual([
      'spec.exemptions[0].expiresAt: the exemption has already expired',
    ]);
  });
});

describe('grants', () => {
  const grant = (spec: Record<string, unknown>) => ({
    apiVersion: API,
    kind: 'WorkloadGrant',
    metadata: { name: 'g', namespace: 'ci' },
    spec: {
      serviceAccountName: 'sa',
      policyRef: { name: 'ci-runners' },
      maxExpirationSeconds: 7200,
      ...spec,
    },
  });

  it('warns about a missing policy, a ceiling above the policy and a window already over', () => {
    const now = new Date('2026-11-25T00:00:00Z');
    expect(semanticWarnings(grant({}), { policy: () => undefined, now })).toEqual([
      'spec.policyRef.name: EndpointTrustPolicy "ci-runners" does not exist (yet); the grant has no effect until it does',
    ]);
    const policy = { spec: { workloadIdentity: { maxExpirationSeconds: 3600 } } };
    expect(
      semanticWarnings(grant({ validity: { notAfter: '2026-01-01T00:00:00Z' } }), {
        policy: () => policy,
        now,
      }),
    ).toEqual([
      `spec.maxExpirationSeconds: 7200 exceeds policy "ci-runners"'s ceiling of 3600; tokens are held to 3600`,
      'spec.validity.notAfter: the grant window is already over; the grant is not active',
    ]);
    expect(
      semanticWarnings(grant({ maxExpirationSeconds: 600 }), { policy: () => policy, now }),
    ).toEqual([]);
  });

  it('has no errors for a well-formed grant', async () => {
    expect(
      await semanticErrors(grant({ validity: { notBefore: '2026-01-01T00:00:00Z' } })),
    ).toEqual([]);
  });
});

describe('node attestation token', () => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const att = (header: unknown, payload: unknown, name = 'runner-1') => ({
    apiVersion: API,
    kind: 'NodeAttestation',
    metadata: { name },
    spec: { token: `${b64(header)}.${typeof payload === 'string' ? payload : b64(payload)}.c2ln` },
  });

  it('accepts a well-formed token for this node', async () => {
    expect(await semanticErrors(att({ alg: 'ES256', kid: 'k' }, { sub: 'runner-1' }))).toEqual([]);
  });

  it('refuses none/HMAC, key-bearing headers, bad payloads and another node, never echoing the token', async () => {
    const cases = [
      [
        att({ alg: 'none' }, { sub: 'runner-1' }),
        'the JWS alg "none" is not an allowed asymmetric algorithm',
      ],
      [
        att({ alg: 'HS256' }, { sub: 'runner-1' }),
        'the JWS alg "HS256" is not an allowed asymmetric algorithm',
      ],
      [
        att({ alg: 'ES256', jku: 'https://evil' }, { sub: 'runner-1' }),
        'the JWS header must not carry "jku"',
      ],
      [att({ alg: 'ES256' }, '!!!'), 'the JWS payload is not base64url-encoded JSON'],
      [att({ alg: 'ES256' }, [1]), 'the JWS payload must be a JSON object'],
      [
        att({ alg: 'ES256' }, { sub: 'runner-2' }),
        `the token's sub "runner-2" is not this node (runner-1)`,
      ],
    ] as const;
    for (const [obj, msg] of cases) {
      const errs = await semanticErrors(obj);
      expect(errs).toHaveLength(1);
      expect(errs[0]?.field).toBe('spec.token');
      expect(errs[0]?.message).toContain(msg);
      expect(errs[0]?.message).not.toContain(obj.spec.token);
    }
  });
});
