import { beforeAll, describe, expect, test } from '@jest/globals';
import { REASON, TrustIndex } from '../../../operator/trust/index.ts';
import {
  attestation,
  earClaims,
  makeKey,
  NODE,
  NOW,
  NOW_S,
  policy,
  sign,
  type TestKey,
} from './fixtures.ts';

let key: TestKey;
let rotated: TestKey;
beforeAll(async () => {
  key = await makeKey('k1');
  rotated = await makeKey('k2');
});

async function seeded(p = policy([key.publicJwk])) {
  const index = new TrustIndex();
  index.upsertNode(NODE, { pool: 'ci' });
  index.upsertNode('web-1', { pool: 'web' });
  index.upsertPolicy(p);
  index.upsertAttestation(attestation(await sign(key)));
  await index.settled();
  return index;
}

describe('TrustIndex', () => {
  test('answers a trusted decision and stops trusting it at validUntil', async () => {
    const index = await seeded();
    const d = index.decision(NODE, 'ci-runners', NOW);
    expect(d.trusted).toBe(true);
    const freshUntil = (NOW_S - 60) * 1000 + 5 * 60_000;
    expect(d.validUntil).toBe(freshUntil);
    expect(index.decision(NODE, 'ci-runners', NOW + 1000)).toBe(d);
    const later = index.decision(NODE, 'ci-runners', freshUntil);
    expect(later.trusted).toBe(false);
    expect(later.reasons.map((r) => r.code)).toEqual([REASON.Stale]);
  });

  test('nodes outside the pool, unknown nodes and policies, and nodes without attestation', async () => {
    const index = await seeded();
    expect(index.decision('web-1', 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.NotInNodePool);
    expect(index.decision('ghost', 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.UnknownNode);
    expect(index.decision(NODE, 'nope', NOW).reasons[0]?.code).toBe(REASON.UnknownPolicy);
    index.upsertNode('runner-2', { pool: 'ci' });
    expect(index.decision('runner-2', 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.NotAttested);
    expect(index.nodesInPool('ci-runners').sort()).toEqual([NODE, 'runner-2']);
    expect(index.policiesForNode('web-1')).toEqual([]);
    expect(index.decisionsForNode(NODE, NOW).map((d) => d.trusted)).toEqual([true]);
  });

  test('pools follow node labels and policy selectors (they are cached)', async () => {
    const index = await seeded();
    expect(index.nodesInPool('ci-runners')).toEqual([NODE]);
    expect(index.policiesForNode('web-1')).toEqual([]);
    index.upsertNode('web-1', { pool: 'ci' });
    expect(index.nodesInPool('ci-runners').sort()).toEqual([NODE, 'web-1']);
    expect(index.policiesForNode('web-1')).toEqual(['ci-runners']);
    const moved = policy([key.publicJwk], {}, { nodeSelector: { matchLabels: { pool: 'web' } } });
    index.upsertPolicy({ ...moved, metadata: { ...moved.metadata, resourceVersion: '2' } });
    expect(index.nodesInPool('ci-runners')).toEqual([]);
    expect(index.policiesForNode(NODE)).toEqual([]);
    index.upsertNode('web-2', { pool: 'web' });
    expect(index.nodesInPool('ci-runners')).toEqual(['web-2']);
    index.deleteNode('web-2');
    expect(index.nodesInPool('ci-runners')).toEqual([]);
    index.deletePolicy('ci-runners');
    expect(index.policiesForNode('web-2')).toEqual([]);
  });

  test('a token shared by two nodes is verified once and answers both', async () => {
    const index = await seeded();
    index.upsertNode('runner-2', { pool: 'ci' });
    const token = await sign(key, earClaims({ posture: { diskEncryption: false } }));
    index.upsertAttestation(attestation(token));
    index.upsertAttestation({ ...attestation(token), metadata: { name: 'runner-2' } });
    const announced: string[] = [];
    index.onChange((node) => announced.push(node));
    await index.settled();
    // The verification's result is announced for every node carrying the token.
    expect(announced.sort()).toEqual([NODE, 'runner-2']);
    for (const node of [NODE, 'runner-2']) {
      expect(index.decision(node, 'ci-runners', NOW).reasons.map((r) => r.code)).toContain(
        REASON.PostureRequirementFailed,
      );
    }
  });

  test('a new token is pending (untrusted) until verified, then replaces the old answer', async () => {
    const index = await seeded();
    const changed: string[] = [];
    index.onChange((node, p) => changed.push(`${node}/${p}`));
    index.upsertAttestation(
      attestation(await sign(key, earClaims({ posture: { diskEncryption: false } }))),
    );
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(
      REASON.VerificationPending,
    );
    await index.settled();
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(
      REASON.PostureRequirementFailed,
    );
    expect(changed).toContain(`${NODE}/ci-runners`);
  });

  test('re-feeding unchanged inputs changes nothing; a policy edit with the same keys needs no new verification', async () => {
    const index = await seeded();
    const first = index.decision(NODE, 'ci-runners', NOW);
    const changed: string[] = [];
    index.onChange((node) => changed.push(node));
    index.upsertPolicy(policy([key.publicJwk]));
    index.upsertNode(NODE, { pool: 'ci' });
    expect(changed).toEqual([]);
    expect(index.decision(NODE, 'ci-runners', NOW)).toBe(first);
    const stricter = policy([key.publicJwk], { maxAge: '30s' });
    stricter.metadata.resourceVersion = '2';
    index.upsertPolicy(stricter);
    // Synchronous: the signature check is reused, only the claims are re-evaluated.
    expect(index.decision(NODE, 'ci-runners', NOW).reasons.map((r) => r.code)).toEqual([
      REASON.Stale,
    ]);
  });

  test('a node that arrives after its attestation and policy is checked before settled()', async () => {
    // Informers deliver their first lists in any order; the controllers and waitForSync rely
    // on settled() covering every check the inputs so far call for.
    const index = new TrustIndex();
    index.upsertAttestation(attestation(await sign(key)));
    index.upsertPolicy(policy([key.publicJwk]));
    index.upsertNode(NODE, { pool: 'ci' });
    await index.settled();
    expect(index.decision(NODE, 'ci-runners', NOW).trusted).toBe(true);
  });

  test('node label changes move a node out of the pool', async () => {
    const index = await seeded();
    index.upsertNode(NODE, { pool: 'web' });
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.NotInNodePool);
  });

  test('JWKS from a Secret: missing, then present, then rotated away', async () => {
    const p = policy([]);
    p.spec.attestation.verifiers = [
      {
        name: 'corp-edr',
        issuer: 'https://verifier.example',
        jwksSecretRef: { name: 'edr-jwks' },
        algorithms: ['ES256'],
      },
    ];
    const index = await seeded(p);
    // While the Secret is first being read, the node is pending, not keyless (no drift).
    index.setJwksSecretPending('trustgate-system', 'edr-jwks', true);
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(
      REASON.VerificationPending,
    );
    index.setJwksSecretPending('trustgate-system', 'edr-jwks', false);
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.NoVerifierKeys);
    const data = (k: TestKey) => ({
      'jwks.json': Buffer.from(JSON.stringify({ keys: [k.publicJwk] })).toString('base64'),
    });
    index.upsertJwksSecret('trustgate-system', 'edr-jwks', data(key));
    await index.settled();
    expect(index.decision(NODE, 'ci-runners', NOW).trusted).toBe(true);
    index.upsertJwksSecret('trustgate-system', 'edr-jwks', data(rotated));
    await index.settled();
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.UnknownKey);
    index.deleteJwksSecret('trustgate-system', 'edr-jwks');
    await index.settled();
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.NoVerifierKeys);
  });

  test('the expected nonce comes from the attestation status', async () => {
    const index = await seeded(policy([key.publicJwk], { requireNonce: true }));
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.NonceMissing);
    const nonce = 'n-0123456789abcdef';
    const token = await sign(key, earClaims({ eat_nonce: nonce }));
    index.upsertAttestation(attestation(token, nonce));
    await index.settled();
    expect(index.decision(NODE, 'ci-runners', NOW).trusted).toBe(true);
    // A new published nonce needs no new signature check: the answer changes at once.
    index.upsertAttestation(attestation(token, 'n-rotated-000000'));
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.NonceMismatch);
  });

  test('deleting the attestation or the policy takes effect at once', async () => {
    const index = await seeded();
    index.deleteAttestation(NODE);
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.NotAttested);
    index.deletePolicy('ci-runners');
    expect(index.decision(NODE, 'ci-runners', NOW).reasons[0]?.code).toBe(REASON.UnknownPolicy);
    expect(index.policies()).toEqual([]);
  });

  test('a future-dated token becomes trusted once the clock reaches it', async () => {
    const index = await seeded();
    index.upsertAttestation(attestation(await sign(key, earClaims({ iat: NOW_S + 120 }))));
    await index.settled();
    const early = index.decision(NODE, 'ci-runners', NOW);
    expect(early.reasons[0]?.code).toBe(REASON.IssuedInFuture);
    expect(early.validUntil).toBe(NOW + 120_000 - 30_000);
    expect(index.decision(NODE, 'ci-runners', early.validUntil).trusted).toBe(true);
  });
});

describe('TrustIndex during an attestation refresh (admissionDecision)', () => {
  const FRESH_UNTIL = (NOW_S - 60) * 1000 + 5 * 60_000; // the seeded token's iat + maxAge
  const codeOf = (d: { reasons: { code: string }[] }) => d.reasons[0]?.code;

  test('keeps the last verified decision while the new token is checked; decision() waits', async () => {
    const index = await seeded();
    const refreshed = await sign(key, earClaims({ iat: NOW_S }));
    index.upsertAttestation(attestation(refreshed));
    const kept = index.admissionDecision(NODE, 'ci-runners', NOW + 1000);
    expect(kept).toMatchObject({ trusted: true, evaluatedAt: NOW + 1000 });
    expect(kept.attestation?.issuedAt).toBe((NOW_S - 60) * 1000);
    // The controllers' view is unchanged: pending until the check lands.
    expect(codeOf(index.decision(NODE, 'ci-runners', NOW))).toBe(REASON.VerificationPending);
    await index.settled();
    const settled = index.admissionDecision(NODE, 'ci-runners', NOW + 1000);
    expect(settled.trusted).toBe(true);
    expect(settled.attestation?.issuedAt).toBe(NOW);
  });

  test('a last verified decision that has gone stale gives way to VerificationPending', async () => {
    const index = await seeded();
    index.upsertAttestation(attestation(await sign(key, earClaims({ iat: NOW_S }))));
    expect(index.admissionDecision(NODE, 'ci-runners', FRESH_UNTIL - 1).trusted).toBe(true);
    expect(codeOf(index.admissionDecision(NODE, 'ci-runners', FRESH_UNTIL))).toBe(
      REASON.VerificationPending,
    );
  });

  test('a node never verified stays VerificationPending', async () => {
    const index = new TrustIndex();
    index.upsertNode(NODE, { pool: 'ci' });
    index.upsertPolicy(policy([key.publicJwk]));
    index.upsertAttestation(attestation(await sign(key)));
    expect(codeOf(index.admissionDecision(NODE, 'ci-runners', NOW))).toBe(
      REASON.VerificationPending,
    );
    await index.settled();
    expect(index.admissionDecision(NODE, 'ci-runners', NOW).trusted).toBe(true);
  });

  test('a new token that fails its check is denied once it settles, and is not fallen back on', async () => {
    const index = await seeded();
    index.upsertAttestation(attestation(await sign(rotated, earClaims({ iat: NOW_S }))));
    expect(index.admissionDecision(NODE, 'ci-runners', NOW).trusted).toBe(true);
    await index.settled();
    expect(codeOf(index.admissionDecision(NODE, 'ci-runners', NOW))).toBe(REASON.UnknownKey);
    // The next refresh falls back on nothing: the node was last denied.
    index.upsertAttestation(attestation(await sign(key, earClaims({ iat: NOW_S + 1 }))));
    expect(codeOf(index.admissionDecision(NODE, 'ci-runners', NOW))).toBe(
      REASON.VerificationPending,
    );
  });

  test('refreshes in quick succession keep the last verified token; new keys drop it', async () => {
    const index = await seeded();
    const first = await sign(key, earClaims({ iat: NOW_S }));
    const second = await sign(key, earClaims({ iat: NOW_S + 1 }));
    index.upsertAttestation(attestation(first));
    index.upsertAttestation(attestation(second)); // while the first is still being checked
    expect(index.admissionDecision(NODE, 'ci-runners', NOW).trusted).toBe(true);
    const rekeyed = policy([rotated.publicJwk]);
    rekeyed.metadata.resourceVersion = '2';
    index.upsertPolicy(rekeyed);
    expect(codeOf(index.admissionDecision(NODE, 'ci-runners', NOW))).toBe(
      REASON.VerificationPending,
    );
  });
});
