// Nonce rotation without a trust gap (policy requireNonce): when the controller replaces a
// node's nonce, the token bound to the replaced one stays trusted for nonceOverlap, then is
// refused; a token with the new nonce is trusted. Sandbox and real tier alike.
import { beforeEach, describe, expect, it } from '@jest/globals';
import type { Runtime } from '../../../operator/runtime/runtime.ts';
import {
  attest,
  createNode,
  createPolicy,
  type Env,
  getNode,
  getObject,
  policyObject,
  untrustedTaint,
  waitFor,
  withOperator,
} from './harness.ts';

const started = withOperator();
let env: Env;
let operator: Runtime;
beforeEach(() => {
  ({ env, operator } = started());
});

interface Status {
  issuedAt?: string;
  nonce?: { value?: string; issuedAt?: string; previous?: { value?: string; retiredAt?: string } };
  results?: { policy: string; trusted: boolean; reasons?: { code: string }[] }[];
}

const MAX_AGE_MS = 6_000;
const OVERLAP_MS = 3_000;

describe('nonce rotation', () => {
  it('keeps the token bound to the replaced nonce trusted for nonceOverlap, then refuses it', async () => {
    const policy = `p-${env.id}-nonce`;
    const node = `${policy}-n1`;
    await createPolicy(
      env,
      policyObject(env, policy, {
        maxAge: `${MAX_AGE_MS / 1000}s`,
        attestation: { requireNonce: true, nonceOverlap: `${OVERLAP_MS / 1000}s` },
        // Drift actions are not what this test is about; the verdict in status is.
        onDrift: { gracePeriod: '1h' },
      }),
    );
    await createNode(env, node, policy);
    const status = async () =>
      (await getObject<{ status?: Status }>(env, 'nodeattestations', node)).status;
    const result = (s: Status | undefined) => s?.results?.find((r) => r.policy === policy);

    // A first token without a nonce: untrusted, and trustgate publishes one.
    await attest(env, node);
    const first = await waitFor(async () => (await status())?.nonce, 'a nonce published');
    await attest(env, node, {}, undefined, { eat_nonce: first.value });
    await waitFor(async () => result(await status())?.trusted, 'trusted with the published nonce');

    // The verifier re-attests with the nonce it read, once that nonce has lived maxAge:
    // the controller replaces it while this token is current.
    const rotateAt = Date.parse(first.issuedAt ?? '') + MAX_AGE_MS;
    await waitFor(() => Date.now() >= rotateAt, 'the nonce lifetime to pass', MAX_AGE_MS + 5_000);
    const signedAt = Date.now();
    await attest(env, node, {}, signedAt, { eat_nonce: first.value });
    const rotated = await waitFor(async () => {
      const s = await status();
      const evaluated = Date.parse(s?.issuedAt ?? '') >= Math.floor(signedAt / 1000) * 1000;
      return s?.nonce?.previous?.value === first.value && evaluated ? s : undefined;
    }, 'the nonce replaced and the new token evaluated');
    const retiredAt = Date.parse(rotated.nonce?.previous?.retiredAt ?? '');
    expect(rotated.nonce?.value).not.toBe(first.value);
    // What the webhook answers from the operator's caches once they hold the rotation:
    // trusted up to the end of the overlap, refused from then on (no clock sampling).
    const trust = operator.caches.trust;
    await waitFor(
      () => operator.caches.attestations.get(node)?.status?.nonce?.previous?.value === first.value,
      'the rotation in the cache',
    );
    await trust.settled();
    const inside = trust.admissionDecision(node, policy, retiredAt + OVERLAP_MS - 1);
    expect(inside.reasons).toEqual([]);
    expect(inside.trusted).toBe(true);
    const after = trust.admissionDecision(node, policy, retiredAt + OVERLAP_MS);
    expect(after.reasons.map((r) => r.code)).toEqual(['NonceMismatch']);

    // The overlap is bounded: with no re-attestation the replaced nonce is refused after it.
    const refused = await waitFor(async () => {
      const r = result(await status());
      return r && !r.trusted ? r : undefined;
    }, 'the replaced nonce refused after the overlap');
    expect(Date.now()).toBeGreaterThanOrEqual(retiredAt + OVERLAP_MS);
    expect(refused.reasons?.map((x) => x.code)).toContain('NonceMismatch');

    // The verifier re-attests with the new nonce: trusted again.
    await attest(env, node, {}, undefined, { eat_nonce: rotated.nonce?.value });
    await waitFor(async () => result(await status())?.trusted, 'trusted with the new nonce');
    expect(untrustedTaint(await getNode(env, node))).toBeUndefined();
  }, 60_000);
});
