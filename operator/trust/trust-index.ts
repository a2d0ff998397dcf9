// An in-memory table of node decisions per (node, policy), fed by the caller's caches
// (informers) and read by the webhook per admission request and by the controllers.
// Pure: it does no I/O. Signature checks are the only asynchronous work; their results are
// cached per (verifier keyring, token), so a policy edit that keeps its verifiers only
// re-runs the cheap claim checks, and an unchanged input recomputes nothing. While a
// refreshed token is being checked, admission may keep deciding from the node's last
// verified token (admissionDecision); the controllers wait for the check (decision).
import type { EndpointTrustPolicy, NodeAttestation } from '../api/types.generated.ts';
import { type SecretData, secretJwksResolver, VerifierKeyring } from './keyring.ts';
import {
  decisionWithoutToken,
  evaluateVerification,
  type NodeDecision,
  nodeInPool,
} from './node-trust.ts';
import { type PublishedNonces as Nonces, publishedNonces } from './nonce.ts';
import { finding, REASON, reason } from './reasons.ts';
import type { Labels } from './selectors.ts';
import { type Instant, toMillis } from './time.ts';
import { type TokenVerification, verifyAttestationToken } from './verify-token.ts';

export interface TrustIndexOptions {
  /** Namespace of jwksSecretRef Secrets that name none (trustgate's own namespace). */
  defaultSecretNamespace?: string;
}

/** Called when the decision for a (node, policy) pair may have changed by an input. */
export type ChangeListener = (node: string, policy: string) => void;

interface PolicyEntry {
  policy: EndpointTrustPolicy;
  version: string;
  keyring: VerifierKeyring;
}

const sameNonces = (a: Nonces, b: Nonces) =>
  a.expectedNonce === b.expectedNonce &&
  a.previousNonce?.value === b.previousNonce?.value &&
  a.previousNonce?.retiredAt === b.previousNonce?.retiredAt;

/** A token that verified under a keyring, with the nonces expected of it at the time. */
interface VerifiedInput {
  verification: TokenVerification;
  nonces: Nonces;
}

interface AttestationEntry {
  token: string;
  nonces: Nonces;
  /** Per keyring, the node's last token that verified, while this one's check is pending. */
  lastVerified: WeakMap<VerifierKeyring, VerifiedInput>;
}

interface VerificationEntry {
  result?: TokenVerification;
  done: Promise<void>;
}

const policyVersion = (p: EndpointTrustPolicy) =>
  `${p.metadata?.uid ?? ''}/${p.metadata?.resourceVersion ?? ''}/${p.metadata?.generation ?? ''}/${p.metadata?.resourceVersion ? '' : JSON.stringify(p.spec)}`;
const sameLabels = (a: Labels, b: Labels) =>
  JSON.stringify(Object.entries(a ?? {}).sort()) === JSON.stringify(Object.entries(b ?? {}).sort());

export class TrustIndex {
  readonly #defaultSecretNamespace: string;
  readonly #nodes = new Map<string, Labels>();
  /** Each policy's pool, as last computed; dropped when any node's labels or the policy change. */
  readonly #pools = new Map<string, string[]>();
  /** The reverse: each node's policies; dropped when its labels or any policy change. */
  readonly #nodePolicies = new Map<string, string[]>();
  readonly #policies = new Map<string, PolicyEntry>();
  readonly #attestations = new Map<string, AttestationEntry>();
  /**
   * Which nodes carry each token (normally one). Finding them by scanning every
   * attestation cost O(nodes) per verification and per refresh: quadratic under churn.
   */
  readonly #nodesByToken = new Map<string, Set<string>>();
  readonly #secrets = new Map<string, SecretData>();
  /** JWKS Secrets whose first read is still under way: their policies decide nothing yet. */
  readonly #pendingSecrets = new Set<string>();
  /** Keyrings by fingerprint, shared by policies with the same verifiers and keys. */
  readonly #keyrings = new Map<string, VerifierKeyring>();
  readonly #verifications = new Map<VerifierKeyring, Map<string, VerificationEntry>>();
  /** Decisions by policy, then node; an entry is dropped whenever one of its inputs changes. */
  readonly #decisions = new Map<string, Map<string, NodeDecision>>();
  readonly #pending = new Set<Promise<void>>();
  readonly #listeners = new Set<ChangeListener>();

  constructor(options: TrustIndexOptions = {}) {
    this.#defaultSecretNamespace = options.defaultSecretNamespace ?? 'trustgate-system';
  }

  // ---- inputs ----

  upsertNode(name: string, labels: Labels): void {
    if (this.#nodes.has(name) && sameLabels(this.#nodes.get(name), labels)) return;
    this.#nodes.set(name, { ...(labels ?? {}) });
    this.#pools.clear();
    this.#nodePolicies.delete(name);
    this.#invalidateNode(name);
    // A node listed after its attestation and policies has no check started yet (policies
    // only start them for known nodes); start it now so settled() covers it.
    const a = this.#attestations.get(name);
    if (!a) return;
    for (const entry of this.#policies.values()) {
      if (nodeInPool({ labels }, entry.policy)) this.#verify(entry.keyring, a.token);
    }
  }

  deleteNode(name: string): void {
    if (!this.#nodes.delete(name)) return;
    this.#pools.clear();
    this.#nodePolicies.delete(name);
    this.#invalidateNode(name);
  }

  upsertPolicy(policy: EndpointTrustPolicy): void {
    const name = policy.metadata?.name;
    if (!name) return;
    const version = policyVersion(policy);
    if (this.#policies.get(name)?.version === version) return;
    this.#policies.set(name, { policy, version, keyring: this.#keyringFor(policy) });
    this.#invalidatePolicy(name);
    this.#verifyForPolicy(name);
    this.#collectKeyrings();
  }

  deletePolicy(name: string): void {
    if (!this.#policies.delete(name)) return;
    this.#invalidatePolicy(name);
    this.#collectKeyrings();
  }

  /** Feeds a node's attestation; the expected nonces default to its status.nonce. */
  upsertAttestation(attestation: NodeAttestation, expectedNonce?: string): void {
    const node = attestation.metadata?.name;
    const token = attestation.spec?.token;
    if (!node) return;
    if (typeof token !== 'string') {
      this.deleteAttestation(node);
      return;
    }
    const nonces = expectedNonce === undefined ? publishedNonces(attestation) : { expectedNonce };
    const old = this.#attestations.get(node);
    if (old && old.token === token && sameNonces(old.nonces, nonces)) return;
    const lastVerified = old?.token === token ? old.lastVerified : this.#lastVerifiedBefore(old);
    this.#setAttestation(node, { token, nonces, lastVerified });
    if (old && old.token !== token) this.#forgetToken(old.token);
    this.#invalidateNode(node);
    for (const entry of this.#policies.values()) this.#verify(entry.keyring, token);
  }

  deleteAttestation(node: string): void {
    const old = this.#attestations.get(node);
    if (!old) return;
    this.#setAttestation(node, undefined);
    this.#forgetToken(old.token);
    this.#invalidateNode(node);
  }

  /** Feeds a Secret that may hold a verifier JWKS (data as the API returns it: base64). */
  upsertJwksSecret(namespace: string, name: string, data: SecretData): void {
    this.#secrets.set(`${namespace}/${name}`, data ?? {}); // present, even with no data
    this.#rebuildKeyrings();
  }

  deleteJwksSecret(namespace: string, name: string): void {
    if (this.#secrets.delete(`${namespace}/${name}`)) this.#rebuildKeyrings();
  }

  /**
   * Marks a JWKS Secret as not read yet (or read, or refused). Until it is read, nodes
   * under the policies naming it are VerificationPending, not NoVerifierKeys: a new
   * policy must not look like drift for the moment its Secret takes to list.
   */
  setJwksSecretPending(namespace: string, name: string, pending: boolean): void {
    const key = `${namespace}/${name}`;
    if (this.#pendingSecrets.has(key) === pending) return;
    if (pending) this.#pendingSecrets.add(key);
    else this.#pendingSecrets.delete(key);
    for (const [policy, entry] of this.#policies) {
      if (this.#secretRefs(entry.policy).includes(key)) this.#invalidatePolicy(policy);
    }
  }

  /** Resolves when every signature check started so far has finished. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /** Subscribes to input changes; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // ---- reads ----

  policy(name: string): EndpointTrustPolicy | undefined {
    return this.#policies.get(name)?.policy;
  }

  /** The verifier keys a policy decides with (their problems say why some are missing). */
  keyring(policyName: string): VerifierKeyring | undefined {
    return this.#policies.get(policyName)?.keyring;
  }

  policies(): EndpointTrustPolicy[] {
    return [...this.#policies.values()].map((e) => e.policy);
  }

  /**
   * Known nodes in the policy's pool. Cached: the policy controller asks for every policy
   * each time any node's trust changes, and matching thousands of nodes' labels each time
   * was most of its cost.
   */
  nodesInPool(policyName: string): string[] {
    const policy = this.#policies.get(policyName)?.policy;
    if (!policy) return [];
    let pool = this.#pools.get(policyName);
    if (!pool) {
      pool = [...this.#nodes]
        .filter(([, labels]) => nodeInPool({ labels }, policy))
        .map(([n]) => n);
      this.#pools.set(policyName, pool);
    }
    return [...pool];
  }

  /** Policies whose pool includes the node (cached as nodesInPool is). */
  policiesForNode(node: string): string[] {
    if (!this.#nodes.has(node)) return [];
    let policies = this.#nodePolicies.get(node);
    if (!policies) {
      const labels = this.#nodes.get(node);
      policies = [...this.#policies]
        .filter(([, e]) => nodeInPool({ labels }, e.policy))
        .map(([n]) => n);
      this.#nodePolicies.set(node, policies);
    }
    return [...policies];
  }

  /**
   * The decision for a node under a policy at `now`. A cached answer is returned only while
   * now < validUntil, so a trusted answer never outlives the attestation's freshness. Until
   * the node's current token is verified the answer is VerificationPending.
   */
  decision(node: string, policyName: string, now: Instant): NodeDecision {
    return this.#decide(node, policyName, toMillis(now), false);
  }

  /**
   * decision() for admission: while a refreshed token's check is pending, the decision of
   * the node's last verified token, as long as that token is still fresh at `now` — so a
   * routine refresh does not deny a trusted node. A node never verified stays pending.
   */
  admissionDecision(node: string, policyName: string, now: Instant): NodeDecision {
    return this.#decide(node, policyName, toMillis(now), true);
  }

  /** Decisions for the node under every policy whose pool includes it. */
  decisionsForNode(node: string, now: Instant): NodeDecision[] {
    return this.policiesForNode(node).map((p) => this.decision(node, p, now));
  }

  /** Decisions for every known node in the policy's pool. */
  decisionsForPolicy(policyName: string, now: Instant): NodeDecision[] {
    return this.nodesInPool(policyName).map((n) => this.decision(n, policyName, now));
  }

  // ---- internals ----

  #decide(node: string, policyName: string, now: number, keepLastVerified: boolean): NodeDecision {
    const cached = this.#decisions.get(policyName)?.get(node);
    if (cached && cached.evaluatedAt <= now && now < cached.validUntil) return cached;
    const entry = this.#policies.get(policyName);
    if (!entry) {
      return {
        node,
        policy: policyName,
        trusted: false,
        reasons: [
          reason(REASON.UnknownPolicy, `node ${node}: policy ${policyName} does not exist`),
        ],
        evaluatedAt: now,
        validUntil: now,
      };
    }
    const fresh = this.#compute(node, entry, now);
    if (fresh.reasons[0]?.code === REASON.VerificationPending) {
      // Never cached: decision() must keep answering pending until the check lands.
      return (keepLastVerified && this.#lastVerifiedDecision(node, entry, now)) || fresh;
    }
    let perPolicy = this.#decisions.get(policyName);
    if (!perPolicy) {
      perPolicy = new Map();
      this.#decisions.set(policyName, perPolicy);
    }
    perPolicy.set(node, fresh);
    return fresh;
  }

  /** The decision of the node's last verified token, re-evaluated at now, while still fresh. */
  #lastVerifiedDecision(node: string, entry: PolicyEntry, now: number): NodeDecision | undefined {
    const last = this.#attestations.get(node)?.lastVerified.get(entry.keyring);
    if (!last) return undefined;
    const d = evaluateVerification({
      node: { name: node, labels: this.#nodes.get(node) ?? {} },
      policy: entry.policy,
      verification: last.verification,
      now,
      ...last.nonces,
    });
    return d.attestation && now < d.attestation.freshUntil ? d : undefined;
  }

  /**
   * What a node's new token may fall back on per keyring while it is checked: the replaced
   * token if it verified; if that one was still pending, what it fell back on. A replaced
   * token that failed its check leaves nothing (the node was last denied).
   */
  #lastVerifiedBefore(old: AttestationEntry | undefined): WeakMap<VerifierKeyring, VerifiedInput> {
    const out = new WeakMap<VerifierKeyring, VerifiedInput>();
    if (!old) return out;
    for (const [keyring, perKeyring] of this.#verifications) {
      const result = perKeyring.get(old.token)?.result;
      if (result?.ok) out.set(keyring, { verification: result, nonces: old.nonces });
      const carried = result ? undefined : old.lastVerified.get(keyring);
      if (carried) out.set(keyring, carried);
    }
    return out;
  }

  #compute(node: string, entry: PolicyEntry, now: number): NodeDecision {
    const { policy } = entry;
    if (!this.#nodes.has(node)) {
      const d = decisionWithoutToken(
        { name: node },
        policy,
        now,
        REASON.UnknownNode,
        'the node is not known',
        'trusts only known nodes in its pool',
      );
      return { ...d, validUntil: now };
    }
    const ref = { name: node, labels: this.#nodes.get(node) ?? {} };
    const attestation = this.#attestations.get(node);
    if (!nodeInPool(ref, policy)) {
      return evaluateVerification({
        node: ref,
        policy,
        verification: { ok: false, findings: [] },
        now,
      });
    }
    if (!attestation) {
      return decisionWithoutToken(
        ref,
        policy,
        now,
        REASON.NotAttested,
        'the node has no NodeAttestation',
        'requires a signed attestation (zero trust)',
      );
    }
    if (this.#secretRefs(policy).some((k) => this.#pendingSecrets.has(k))) {
      const d = decisionWithoutToken(
        ref,
        policy,
        now,
        REASON.VerificationPending,
        "the policy's JWKS Secret is still being read",
        'requires a verified attestation',
      );
      return { ...d, validUntil: now };
    }
    const verification = this.#verifications.get(entry.keyring)?.get(attestation.token)?.result;
    if (!verification) {
      this.#verify(entry.keyring, attestation.token);
      const d = decisionWithoutToken(
        ref,
        policy,
        now,
        REASON.VerificationPending,
        'the attestation signature is still being checked',
        'requires a verified attestation',
      );
      return { ...d, validUntil: now };
    }
    return evaluateVerification({
      node: ref,
      policy,
      verification,
      now,
      ...attestation.nonces,
    });
  }

  /** namespace/name of each JWKS Secret the policy's verifiers name. */
  #secretRefs(policy: EndpointTrustPolicy): string[] {
    return (policy.spec?.attestation?.verifiers ?? []).flatMap((v) =>
      v.jwksSecretRef
        ? [`${v.jwksSecretRef.namespace || this.#defaultSecretNamespace}/${v.jwksSecretRef.name}`]
        : [],
    );
  }

  #keyringFor(policy: EndpointTrustPolicy): VerifierKeyring {
    const resolve = secretJwksResolver(
      (ns, name) => this.#secrets.get(`${ns}/${name}`),
      this.#defaultSecretNamespace,
    );
    const built = VerifierKeyring.forPolicy(policy, resolve);
    const shared = this.#keyrings.get(built.fingerprint);
    if (shared) return shared;
    this.#keyrings.set(built.fingerprint, built);
    return built;
  }

  #rebuildKeyrings(): void {
    for (const [name, entry] of this.#policies) {
      const keyring = this.#keyringFor(entry.policy);
      if (keyring === entry.keyring) continue;
      entry.keyring = keyring;
      this.#invalidatePolicy(name);
      this.#verifyForPolicy(name);
    }
    this.#collectKeyrings();
  }

  /** Drops keyrings (and their cached verifications) that no policy uses any more. */
  #collectKeyrings(): void {
    const used = new Set([...this.#policies.values()].map((e) => e.keyring));
    for (const [fp, keyring] of this.#keyrings) {
      if (used.has(keyring)) continue;
      this.#keyrings.delete(fp);
      this.#verifications.delete(keyring);
    }
  }

  #verifyForPolicy(name: string): void {
    const entry = this.#policies.get(name);
    if (!entry) return;
    for (const node of this.nodesInPool(name)) {
      const a = this.#attestations.get(node);
      if (a) this.#verify(entry.keyring, a.token);
    }
  }

  #verify(keyring: VerifierKeyring, token: string): void {
    let perKeyring = this.#verifications.get(keyring);
    if (!perKeyring) {
      perKeyring = new Map();
      this.#verifications.set(keyring, perKeyring);
    }
    if (perKeyring.has(token)) return;
    const entry: VerificationEntry = { done: Promise.resolve() };
    const map = perKeyring;
    entry.done = verifyAttestationToken(token, keyring)
      .catch(
        (err): TokenVerification => ({
          ok: false,
          findings: [
            finding(
              REASON.SignatureInvalid,
              `the token could not be verified (${err instanceof Error ? err.message : 'error'})`,
              'requires a valid signature from one of its verifiers',
            ),
          ],
        }),
      )
      .then((result) => {
        entry.result = result;
        this.#pending.delete(entry.done);
        // Only announce results that are still wanted (the token or keyring may be gone).
        if (this.#verifications.get(keyring)?.get(token) === entry) {
          this.#announceVerified(keyring, token);
        }
      });
    this.#pending.add(entry.done);
    map.set(token, entry);
  }

  /** Sets or removes a node's attestation, keeping the token → nodes index in step. */
  #setAttestation(node: string, entry: AttestationEntry | undefined): void {
    const old = this.#attestations.get(node);
    if (old) {
      const nodes = this.#nodesByToken.get(old.token);
      nodes?.delete(node);
      if (nodes?.size === 0) this.#nodesByToken.delete(old.token);
    }
    if (!entry) {
      this.#attestations.delete(node);
      return;
    }
    this.#attestations.set(node, entry);
    const nodes = this.#nodesByToken.get(entry.token) ?? new Set<string>();
    nodes.add(node);
    this.#nodesByToken.set(entry.token, nodes);
  }

  #announceVerified(keyring: VerifierKeyring, token: string): void {
    for (const node of this.#nodesByToken.get(token) ?? []) {
      const a = this.#attestations.get(node);
      if (!a) continue;
      a.lastVerified.delete(keyring);
      for (const [policy, entry] of this.#policies) {
        if (entry.keyring !== keyring) continue;
        this.#decisions.get(policy)?.delete(node);
        this.#emit(node, policy);
      }
    }
  }

  #forgetToken(token: string): void {
    if (this.#nodesByToken.has(token)) return;
    for (const perKeyring of this.#verifications.values()) perKeyring.delete(token);
  }

  #invalidateNode(node: string): void {
    for (const policy of this.#policies.keys()) {
      this.#decisions.get(policy)?.delete(node);
      this.#emit(node, policy);
    }
  }

  #invalidatePolicy(policy: string): void {
    this.#pools.delete(policy);
    this.#nodePolicies.clear();
    this.#decisions.delete(policy);
    for (const node of this.#nodes.keys()) this.#emit(node, policy);
  }

  #emit(node: string, policy: string): void {
    for (const listener of this.#listeners) {
      try {
        listener(node, policy);
      } catch {
        // A listener's failure must not corrupt the index.
      }
    }
  }
}
