// Challenge nonces (policy requireNonce): which nonce trustgate publishes next for a node,
// and which nonces a token may carry. A rotation keeps the replaced nonce, with the time it
// was replaced, so policies can still accept it for their nonceOverlap: the token a verifier
// signed a moment before the rotation stays good until its next re-attestation.
import type { NodeAttestation, NodeAttestationStatus } from '../api/types.generated.ts';

/** A nonce a rotation replaced, and when (epoch ms). */
export interface RetiredNonce {
  value: string;
  retiredAt: number;
}

/** The nonces a token is checked against. */
export interface PublishedNonces {
  expectedNonce?: string;
  previousNonce?: RetiredNonce;
}

export type NonceStatus = NonNullable<NodeAttestationStatus['nonce']>;

/** The nonces trustgate published for a node, read from its NodeAttestation status. */
export function publishedNonces(attestation: NodeAttestation | undefined): PublishedNonces {
  const nonce = attestation?.status?.nonce;
  const retiredAt = Date.parse(nonce?.previous?.retiredAt ?? '');
  const previous = nonce?.previous?.value;
  return {
    expectedNonce: nonce?.value,
    previousNonce:
      previous && Number.isFinite(retiredAt) ? { value: previous, retiredAt } : undefined,
  };
}

/**
 * The nonce status to publish at `now`: the current one while younger than `lifetimeMs`
 * (the strictest maxAge of the policies that require a nonce), else a new `mint()`ed value
 * that records the one it replaced. Without a lifetime (no policy requires a nonce) the
 * current status is kept as it is.
 */
export function nonceToPublish(
  current: NonceStatus | undefined,
  lifetimeMs: number,
  now: number,
  mint: () => string,
): NonceStatus | undefined {
  if (!Number.isFinite(lifetimeMs)) return current;
  const issued = Date.parse(current?.issuedAt ?? '');
  if (current?.value && Number.isFinite(issued) && now - issued < lifetimeMs) return current;
  const at = new Date(now).toISOString();
  return {
    value: mint(),
    issuedAt: at,
    ...(current?.value ? { previous: { value: current.value, retiredAt: at } } : {}),
  };
}
