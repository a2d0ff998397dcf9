// When the webhook's certificates change, decided from their dates alone (no I/O besides
// key generation). Serving certificates are renewed at a fraction of their lifetime by the
// same CA, so the API server's caBundle does not change. A CA nearing its end is replaced
// in two steps so no replica ever serves a certificate the API server cannot verify yet:
// first the next CA is added to the bundle; only after the bundle had time to propagate
// does the next CA start signing, and the old one stays in the bundle until it expires.
import {
  createCertificateAuthority,
  issueServingCertificate,
  type KeyPairPem,
  readCertificate,
  splitPemBundle,
} from './certificates.ts';

export interface TlsState {
  serving: KeyPairPem;
  /** The CA that signs serving certificates. */
  signer: KeyPairPem;
  /** A CA published in the bundle but not signing yet, and since when (epoch ms). */
  next?: KeyPairPem & { since: number };
  /** Every CA the API server should trust (PEM bundle). */
  caBundle: string;
}

export interface RotationPolicy {
  caLifetimeMs: number;
  servingLifetimeMs: number;
  /** Renew when this fraction of a certificate's lifetime has passed. */
  renewAt: number;
  /** How long the next CA sits in the bundle before it signs (replicas and caBundle catch up). */
  caPropagationMs: number;
  caCommonName: string;
}

export const DEFAULT_ROTATION: RotationPolicy = {
  caLifetimeMs: 10 * 365 * 86_400_000,
  servingLifetimeMs: 90 * 86_400_000,
  renewAt: 2 / 3,
  caPropagationMs: 10 * 60_000,
  caCommonName: 'trustgate-webhook-ca',
};

const renewPoint = (pem: string, policy: RotationPolicy) => {
  const c = readCertificate(pem);
  if (!c) return Number.NEGATIVE_INFINITY;
  return c.notBefore + (c.notAfter - c.notBefore) * policy.renewAt;
};

function bundleOf(cas: string[], now: number): string {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const pem of cas.flatMap(splitPemBundle)) {
    const c = readCertificate(pem);
    if (!c || c.notAfter <= now || seen.has(pem)) continue;
    seen.add(pem);
    kept.push(pem);
  }
  return kept.join('');
}

/** Whether the serving certificate is usable as is: signed by the signer, all hosts, not due. */
function servingIsCurrent(
  state: TlsState,
  hosts: string[],
  now: number,
  policy: RotationPolicy,
): boolean {
  const serving = readCertificate(state.serving.certPem);
  const signer = readCertificate(state.signer.certPem);
  if (!serving || !signer) return false;
  if (serving.issuer !== signer.subject) return false;
  if (!hosts.every((h) => serving.hosts.includes(h))) return false;
  return now < renewPoint(state.serving.certPem, policy);
}

/**
 * The state the Secret should hold at `now`, or undefined when the current one is fine.
 * `hosts` are the names and addresses the serving certificate must carry.
 */
export async function planRotation(
  current: TlsState | undefined,
  hosts: string[],
  now: number,
  policy: RotationPolicy = DEFAULT_ROTATION,
): Promise<TlsState | undefined> {
  const signerFacts = current ? readCertificate(current.signer.certPem) : undefined;
  if (!current || !signerFacts || signerFacts.notAfter <= now) {
    const signer = await createCertificateAuthority(policy.caCommonName, now, policy.caLifetimeMs);
    const serving = await issueServingCertificate(signer, hosts, now, policy.servingLifetimeMs);
    return { signer, serving, caBundle: bundleOf([signer.certPem], now) };
  }
  let state = current;
  let changed = false;
  // Step 2 of a CA change: the next CA has been trusted long enough; it takes over.
  if (state.next && now >= state.next.since + policy.caPropagationMs) {
    const signer = { certPem: state.next.certPem, keyPem: state.next.keyPem };
    state = {
      signer,
      serving: await issueServingCertificate(signer, hosts, now, policy.servingLifetimeMs),
      caBundle: bundleOf([signer.certPem, state.caBundle], now),
    };
    changed = true;
  } else if (!state.next && now >= renewPoint(state.signer.certPem, policy)) {
    // Step 1: publish the next CA next to the current one.
    const next = await createCertificateAuthority(policy.caCommonName, now, policy.caLifetimeMs);
    state = {
      ...state,
      next: { ...next, since: now },
      caBundle: bundleOf([state.caBundle, next.certPem], now),
    };
    changed = true;
  }
  if (!servingIsCurrent(state, hosts, now, policy)) {
    state = {
      ...state,
      serving: await issueServingCertificate(state.signer, hosts, now, policy.servingLifetimeMs),
    };
    changed = true;
  }
  const pruned = bundleOf([state.signer.certPem, state.caBundle, state.next?.certPem ?? ''], now);
  if (pruned !== state.caBundle) {
    state = { ...state, caBundle: pruned };
    changed = true;
  }
  return changed ? state : undefined;
}

/** When planRotation should run again (epoch ms). */
export function nextRotationCheck(
  state: TlsState,
  policy: RotationPolicy = DEFAULT_ROTATION,
): number {
  const times = [renewPoint(state.serving.certPem, policy)];
  if (state.next) times.push(state.next.since + policy.caPropagationMs);
  else times.push(renewPoint(state.signer.certPem, policy));
  for (const pem of splitPemBundle(state.caBundle)) {
    const c = readCertificate(pem);
    if (c) times.push(c.notAfter);
  }
  return Math.min(...times);
}

// ---- the Secret that carries the state (data as the API returns it: base64) ----

const KEYS = {
  cert: 'tls.crt',
  key: 'tls.key',
  bundle: 'ca.crt',
  signerCert: 'ca-signer.crt',
  signerKey: 'ca-signer.key',
  nextCert: 'ca-next.crt',
  nextKey: 'ca-next.key',
  nextSince: 'ca-next.since',
} as const;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: unknown) =>
  typeof s === 'string' ? Buffer.from(s, 'base64').toString('utf8') : undefined;

export function secretDataFromState(state: TlsState): Record<string, string> {
  const data: Record<string, string> = {
    [KEYS.cert]: b64(state.serving.certPem),
    [KEYS.key]: b64(state.serving.keyPem),
    [KEYS.bundle]: b64(state.caBundle),
    [KEYS.signerCert]: b64(state.signer.certPem),
    [KEYS.signerKey]: b64(state.signer.keyPem),
  };
  if (state.next) {
    data[KEYS.nextCert] = b64(state.next.certPem);
    data[KEYS.nextKey] = b64(state.next.keyPem);
    data[KEYS.nextSince] = b64(String(state.next.since));
  }
  return data;
}

/** The state in a Secret's data; undefined when it is missing or incomplete. */
export function stateFromSecretData(
  data: Record<string, unknown> | undefined,
): TlsState | undefined {
  if (!data) return undefined;
  const get = (k: string) => unb64(data[k]);
  const cert = get(KEYS.cert);
  const key = get(KEYS.key);
  const bundle = get(KEYS.bundle);
  const signerCert = get(KEYS.signerCert);
  const signerKey = get(KEYS.signerKey);
  if (!cert || !key || !bundle || !signerCert || !signerKey) return undefined;
  const state: TlsState = {
    serving: { certPem: cert, keyPem: key },
    signer: { certPem: signerCert, keyPem: signerKey },
    caBundle: bundle,
  };
  const nextCert = get(KEYS.nextCert);
  const nextKey = get(KEYS.nextKey);
  const since = Number(get(KEYS.nextSince));
  if (nextCert && nextKey && Number.isFinite(since))
    state.next = { certPem: nextCert, keyPem: nextKey, since };
  return state;
}
