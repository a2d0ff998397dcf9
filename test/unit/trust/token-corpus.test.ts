// Forged and broken attestation tokens: each must be refused with its own reason code.
import { beforeAll, describe, expect, test } from '@jest/globals';
import { type CryptoKey, exportSPKI, importJWK, SignJWT } from 'jose';
import { decideNodeTrust, REASON, type ReasonCode } from '../../../operator/trust/index.ts';
import {
  attestation,
  b64url,
  CI_NODE,
  earClaims,
  makeKey,
  NOW,
  NOW_S,
  policy,
  sign,
  type TestKey,
} from './fixtures.ts';

let key: TestKey;
let attacker: TestKey;
let rsa: TestKey;

beforeAll(async () => {
  key = await makeKey('k1');
  attacker = await makeKey('k1');
  rsa = await makeKey('r1', 'RS256');
});

/** Signs any header and payload with a raw ES256 signature (jose refuses to build some forgeries). */
async function rawSign(
  signer: TestKey,
  header: Record<string, unknown>,
  payload: unknown,
): Promise<string> {
  const input = `${b64url(header)}.${b64url(payload)}`;
  const sig = await crypto.subtle.sign(
    { name: 'ECDSA', hash: 'SHA-256' },
    signer.privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

async function decide(token: string, attestationSpec = {}, nonce?: string) {
  return decideNodeTrust({
    node: CI_NODE,
    policy: policy([key.publicJwk, rsa.publicJwk], attestationSpec),
    attestation: attestation(token, nonce),
    now: NOW,
  });
}

async function expectRefused(
  token: string,
  code: ReasonCode,
  attestationSpec = {},
  nonce?: string,
) {
  const d = await decide(token, attestationSpec, nonce);
  expect(d.trusted).toBe(false);
  expect(d.reasons.map((r) => r.code)).toEqual([code]);
  expect(d.reasons[0]?.message).toMatch(/^node runner-1: .*; policy ci-runners /);
  return d;
}

describe('the reference token', () => {
  test('is trusted, with a validUntil at iat + maxAge', async () => {
    const d = await decide(await sign(key));
    expect(d.reasons).toEqual([]);
    expect(d.trusted).toBe(true);
    expect(d.validUntil).toBe((NOW_S - 60) * 1000 + 5 * 60_000);
    expect(d.attestation).toMatchObject({
      verifier: 'corp-edr',
      keyID: 'k1',
      earStatus: 'affirming',
    });
  });
});

describe('forged tokens', () => {
  test('alg none', async () => {
    const unsigned = `${b64url({ alg: 'none', kid: 'k1' })}.${b64url(earClaims())}.`;
    await expectRefused(unsigned, REASON.AlgorithmNotAllowed);
    await expectRefused(`${unsigned}c2ln`, REASON.AlgorithmNotAllowed);
  });

  test('HMAC signed with the public key', async () => {
    const pem = await exportSPKI((await importJWK(key.publicJwk, 'ES256')) as CryptoKey);
    for (const secret of [pem, JSON.stringify(key.publicJwk)]) {
      const token = await new SignJWT(earClaims())
        .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
        .sign(new TextEncoder().encode(secret));
      await expectRefused(token, REASON.AlgorithmNotAllowed);
    }
  });

  test('an unknown kid', async () => {
    const other = await makeKey('k-unknown');
    await expectRefused(await sign(other), REASON.UnknownKey);
  });

  test('a key carried in the header (jwk, jku, x5u, x5c)', async () => {
    const headers = [
      { jwk: attacker.publicJwk },
      { jku: 'https://attacker.example/jwks.json' },
      { x5u: 'https://attacker.example/cert.pem' },
      { x5c: ['MIIBszCCAVmgAwIBAgIUQ'] },
    ];
    for (const extra of headers) {
      const token = await rawSign(attacker, { alg: 'ES256', kid: 'k1', ...extra }, earClaims());
      const d = await expectRefused(token, REASON.ForbiddenHeader);
      expect(d.reasons[0]?.message).toContain(Object.keys(extra)[0]);
    }
  });

  test('an unknown critical header', async () => {
    const token = await rawSign(
      key,
      { alg: 'ES256', kid: 'k1', crit: ['x-trust'], 'x-trust': 1 },
      earClaims(),
    );
    await expectRefused(token, REASON.ForbiddenHeader);
  });

  test('signed by another key under a known kid', async () => {
    await expectRefused(await sign(attacker), REASON.SignatureInvalid);
  });

  test('a tampered payload', async () => {
    const good = await sign(key, earClaims({ posture: { diskEncryption: false } }));
    const [h, , s] = good.split('.');
    await expectRefused(`${h}.${b64url(earClaims())}.${s}`, REASON.SignatureInvalid);
  });

  test('a tampered signature', async () => {
    const good = await sign(key);
    const [h, p, s = ''] = good.split('.');
    const flipped = `${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    await expectRefused(`${h}.${p}.${flipped}`, REASON.SignatureInvalid);
    await expectRefused(`${h}.${p}.`, REASON.SignatureInvalid);
  });

  test('an algorithm the verifier does not allow', async () => {
    await expectRefused(await sign(rsa), REASON.AlgorithmNotAllowed);
    const es384 = await makeKey('k1', 'ES384');
    await expectRefused(await sign(es384), REASON.AlgorithmNotAllowed);
  });
});

describe('broken tokens', () => {
  test('malformed base64 and JSON', async () => {
    const good = await sign(key);
    const [, p, s] = good.split('.');
    await expectRefused(`e30!.${p}.${s}`, REASON.MalformedToken);
    await expectRefused(`${b64url('{not json')}.${p}.${s}`, REASON.MalformedToken);
    await expectRefused(`${b64url('[1,2]')}.${p}.${s}`, REASON.MalformedToken);
    await expectRefused('abc', REASON.MalformedToken);
    await expectRefused('a.b.c.d', REASON.MalformedToken);
    const notJson = await rawSign(key, { alg: 'ES256', kid: 'k1' }, 'not json');
    await expectRefused(notJson, REASON.MalformedToken);
  });

  test('an oversized token is refused before parsing', async () => {
    await expectRefused(`${'a'.repeat(17_000)}.b.c`, REASON.TokenTooLarge);
  });
});

describe('claims', () => {
  test('expired', async () => {
    await expectRefused(await sign(key, earClaims({ exp: NOW_S - 1 })), REASON.Expired);
  });
  test('issued in the future beyond the clock skew', async () => {
    await expectRefused(await sign(key, earClaims({ iat: NOW_S + 3600 })), REASON.IssuedInFuture);
    const withinSkew = await decide(await sign(key, earClaims({ iat: NOW_S + 10 })));
    expect(withinSkew.trusted).toBe(true);
  });
  test('stale beyond maxAge', async () => {
    const d = await expectRefused(await sign(key, earClaims({ iat: NOW_S - 301 })), REASON.Stale);
    expect(d.validUntil).toBe(Number.POSITIVE_INFINITY);
  });
  test('wrong sub', async () => {
    await expectRefused(await sign(key, earClaims({ sub: 'runner-2' })), REASON.SubjectMismatch);
  });
  test('wrong issuer', async () => {
    await expectRefused(
      await sign(key, earClaims({ iss: 'https://evil.example' })),
      REASON.IssuerMismatch,
    );
  });
  test('wrong or missing nonce when the policy requires one', async () => {
    const spec = { requireNonce: true };
    const nonce = 'n-0123456789abcdef';
    const withNonce = await sign(key, earClaims({ eat_nonce: nonce }));
    expect((await decide(withNonce, spec, nonce)).trusted).toBe(true);
    await expectRefused(withNonce, REASON.NonceMismatch, spec, 'n-somethingelse');
    await expectRefused(withNonce, REASON.NonceMismatch, spec, undefined);
    await expectRefused(await sign(key), REASON.NonceMissing, spec, nonce);
  });
  test('wrong eat_profile', async () => {
    await expectRefused(
      await sign(key, earClaims({ eat_profile: 'tag:example.com,2020:other' })),
      REASON.ProfileMismatch,
    );
  });
  test('no submods', async () => {
    await expectRefused(await sign(key, earClaims({ submods: undefined })), REASON.NoSubmodules);
    await expectRefused(await sign(key, earClaims({ submods: {} })), REASON.NoSubmodules);
  });
  test('status below the minimum', async () => {
    const warning = earClaims({ submods: { node: { 'ear.status': 'warning' } } });
    await expectRefused(await sign(key, warning), REASON.StatusBelowMinimum);
    expect((await decide(await sign(key, warning), { minimumStatus: 'warning' })).trusted).toBe(
      true,
    );
    const contra = earClaims({ submods: { node: { 'ear.status': 96 } } });
    await expectRefused(await sign(key, contra), REASON.StatusBelowMinimum, {
      minimumStatus: 'none',
    });
  });
  test('a trustworthiness category above its ceiling', async () => {
    const vector = (hardware: number) =>
      earClaims({
        submods: {
          node: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { hardware } },
        },
      });
    await expectRefused(await sign(key, vector(32)), REASON.TrustworthinessAboveCeiling);
    await expectRefused(await sign(key, vector(-97)), REASON.TrustworthinessAboveCeiling);
    expect((await decide(await sign(key, vector(0)))).trusted).toBe(true);
  });
  test('values outside the EAR ranges fail closed', async () => {
    const sub = (appraisal: unknown) => earClaims({ submods: { node: appraisal } });
    await expectRefused(await sign(key, sub({ 'ear.status': 'great' })), REASON.InvalidClaim);
    await expectRefused(await sign(key, sub({ 'ear.status': 5 })), REASON.InvalidClaim);
    await expectRefused(await sign(key, sub({})), REASON.MissingClaim);
    await expectRefused(
      await sign(
        key,
        sub({ 'ear.status': 'affirming', 'ear.trustworthiness-vector': { hardware: 200 } }),
      ),
      REASON.InvalidClaim,
    );
    await expectRefused(
      await sign(
        key,
        sub({ 'ear.status': 'affirming', 'ear.trustworthiness-vector': { hardware: 2.5 } }),
      ),
      REASON.InvalidClaim,
    );
    await expectRefused(await sign(key, earClaims({ iat: 'yesterday' })), REASON.InvalidClaim);
    await expectRefused(await sign(key, earClaims({ eat_nonce: 'short' })), REASON.InvalidClaim);
    await expectRefused(
      await sign(key, earClaims({ 'ear.verifier-id': 'x' })),
      REASON.InvalidClaim,
    );
  });
  test('missing mandatory claims', async () => {
    for (const claim of ['iat', 'ear.verifier-id', 'eat_profile', 'iss', 'sub']) {
      await expectRefused(await sign(key, earClaims({ [claim]: undefined })), REASON.MissingClaim);
    }
  });
  test('a posture requirement that fails', async () => {
    const d = await expectRefused(
      await sign(
        key,
        earClaims({
          posture: { diskEncryption: false, patchAgeDays: 3, edr: { version: '7.2.1' } },
        }),
      ),
      REASON.PostureRequirementFailed,
    );
    expect(d.reasons[0]?.message).toBe(
      'node runner-1: posture diskEncryption is false; policy ci-runners requires Equals "true"',
    );
  });
});
