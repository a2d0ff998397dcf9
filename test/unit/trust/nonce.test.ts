// Nonce rotation without a trust gap: the replaced nonce stays acceptable for the policy's
// nonceOverlap after the rotation, and not a moment longer.
import { beforeAll, describe, expect, test } from '@jest/globals';
import type { NodeAttestation } from '../../../operator/api/types.generated.ts';
import {
  decideNodeTrust,
  nonceToPublish,
  publishedNonces,
  REASON,
  TrustIndex,
} from '../../../operator/trust/index.ts';
import {
  attestation,
  CI_NODE,
  earClaims,
  makeKey,
  NODE,
  NOW,
  policy,
  sign,
  type TestKey,
} from './fixtures.ts';

const OLD = 'n-old-0123456789';
const NEW = 'n-new-0123456789';
const iso = (ms: number) => new Date(ms).toISOString();

let key: TestKey;
beforeAll(async () => {
  key = await makeKey('k1');
});

/** A NodeAttestation whose status says NEW replaced OLD at `retiredAt`. */
function rotated(token: string, retiredAt: number): NodeAttestation {
  return {
    ...attestation(token),
    status: {
      nonce: {
        value: NEW,
        issuedAt: iso(retiredAt),
        previous: { value: OLD, retiredAt: iso(retiredAt) },
      },
    },
  };
}

describe('nonceToPublish', () => {
  const mint = () => NEW;
  test('keeps the current nonce while younger than the lifetime', () => {
    const current = { value: OLD, issuedAt: iso(NOW - 10_000) };
    expect(nonceToPublish(current, 60_000, NOW, mint)).toBe(current);
  });
  test('rotates after the lifetime and records what it replaced, and when', () => {
    const current = { value: OLD, issuedAt: iso(NOW - 60_000) };
    expect(nonceToPublish(current, 60_000, NOW, mint)).toEqual({
      value: NEW,
      issuedAt: iso(NOW),
      previous: { value: OLD, retiredAt: iso(NOW) },
    });
  });
  test('a first nonce replaces nothing; no policy requiring one keeps the status as is', () => {
    expect(nonceToPublish(undefined, 60_000, NOW, mint)).toEqual({
      value: NEW,
      issuedAt: iso(NOW),
    });
    const current = { value: OLD, issuedAt: iso(0) };
    expect(nonceToPublish(current, Number.POSITIVE_INFINITY, NOW, mint)).toBe(current);
  });
  test('publishedNonces reads both from the status; a bad retiredAt drops the previous one', () => {
    expect(publishedNonces(rotated('t', NOW))).toEqual({
      expectedNonce: NEW,
      previousNonce: { value: OLD, retiredAt: NOW },
    });
    const bad = rotated('t', NOW);
    if (bad.status?.nonce?.previous) bad.status.nonce.previous.retiredAt = 'yesterday';
    expect(publishedNonces(bad).previousNonce).toBeUndefined();
  });
});

describe('the replaced nonce during the overlap', () => {
  const spec = { requireNonce: true, nonceOverlap: '45s' };
  const decide = async (na: NodeAttestation, now: number) =>
    decideNodeTrust({ node: CI_NODE, policy: policy([key.publicJwk], spec), attestation: na, now });

  test('is accepted until retiredAt + nonceOverlap, which bounds validUntil', async () => {
    const token = await sign(key, earClaims({ eat_nonce: OLD }));
    const retiredAt = NOW - 10_000;
    const d = await decide(rotated(token, retiredAt), NOW);
    expect(d.reasons).toEqual([]);
    expect(d.trusted).toBe(true);
    expect(d.validUntil).toBe(retiredAt + 45_000);
  });

  test('is refused from the end of the overlap on, saying when it was replaced', async () => {
    const token = await sign(key, earClaims({ eat_nonce: OLD }));
    const d = await decide(rotated(token, NOW - 45_000), NOW);
    expect(d.trusted).toBe(false);
    expect(d.reasons.map((r) => r.code)).toEqual([REASON.NonceMismatch]);
    expect(d.reasons[0]?.message).toMatch(/was replaced at .*accepts a replaced nonce for 45s/);
  });

  test('a zero overlap restores the strict behaviour; a nonce never published still fails', async () => {
    const token = await sign(key, earClaims({ eat_nonce: OLD }));
    const strict = await decideNodeTrust({
      node: CI_NODE,
      policy: policy([key.publicJwk], { requireNonce: true, nonceOverlap: '0s' }),
      attestation: rotated(token, NOW - 1),
      now: NOW,
    });
    expect(strict.reasons.map((r) => r.code)).toEqual([REASON.NonceMismatch]);
    const other = await sign(key, earClaims({ eat_nonce: 'n-never-published' }));
    expect((await decide(rotated(other, NOW), NOW)).trusted).toBe(false);
  });

  test('a token with the new nonce is trusted with no overlap bound', async () => {
    const token = await sign(key, earClaims({ eat_nonce: NEW }));
    const d = await decide(rotated(token, NOW - 10_000), NOW);
    expect(d.trusted).toBe(true);
    expect(d.validUntil).toBeGreaterThan(NOW - 10_000 + 45_000);
  });

  test('TrustIndex: a rotation keeps the current token trusted, then stops at the overlap', async () => {
    const index = new TrustIndex();
    index.upsertNode(NODE, { pool: 'ci' });
    index.upsertPolicy(policy([key.publicJwk], spec));
    const token = await sign(key, earClaims({ eat_nonce: OLD }));
    index.upsertAttestation(attestation(token, OLD));
    await index.settled();
    expect(index.decision(NODE, 'ci-runners', NOW).trusted).toBe(true);
    index.upsertAttestation(rotated(token, NOW)); // the controller rotated the nonce
    expect(index.decision(NODE, 'ci-runners', NOW).trusted).toBe(true);
    expect(index.admissionDecision(NODE, 'ci-runners', NOW + 44_999).trusted).toBe(true);
    const after = index.decision(NODE, 'ci-runners', NOW + 45_000);
    expect(after.reasons.map((r) => r.code)).toEqual([REASON.NonceMismatch]);
  });
});
