// A small trustgate world for the webhook tests, fuzzing and the benchmark: one real ES256
// verifier key, policies, nodes with real signed EAR attestations, grants, namespaces and
// pods, loaded into a TrustIndex and served through snapshotCaches().
import type { CryptoKey, JWK } from 'jose';
import type {
  EndpointTrustPolicy,
  NodeAttestation,
  TrustExemption,
  WorkloadGrant,
} from '../../../operator/api/types.generated.ts';
import { EAR_PROFILE, TrustIndex } from '../../../operator/trust/index.ts';
import { type AdmissionCaches, type CachedPod, snapshotCaches } from '../../../webhook/caches.ts';
import { makeKey, sign } from '../trust/fixtures.ts';

export const ISSUER = 'https://verifier.test.trustgate.dev';

export interface VerifierKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** An ES256 verifier key, made like the trust tests' keys. */
export async function makeVerifierKey(kid = 'test-verifier-1'): Promise<VerifierKey> {
  return makeKey(kid, 'ES256');
}

export const GOOD_POSTURE = {
  diskEncryption: true,
  secureBoot: true,
  patchAgeDays: 3,
  edr: { healthy: true },
};

/** A signed EAR attestation for a node, issued `ageSeconds` before `now`. */
export async function signAttestation(
  key: VerifierKey,
  node: string,
  now: number,
  posture: Record<string, unknown> = GOOD_POSTURE,
  ageSeconds = 10,
): Promise<string> {
  return sign(
    { ...key, alg: 'ES256' },
    {
      eat_profile: EAR_PROFILE,
      iat: Math.floor(now / 1000) - ageSeconds,
      iss: ISSUER,
      sub: node,
      'ear.verifier-id': { build: 'test-verifier 1.0', developer: ISSUER },
      submods: {
        node: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { hardware: 2 } },
      },
      posture,
    },
  );
}

export function nodeAttestation(node: string, token: string): NodeAttestation {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'NodeAttestation',
    metadata: { name: node },
    spec: { token },
  };
}

export interface PolicyOptions {
  mode?: 'Enforce' | 'Audit';
  /** Node pool label (pool=<value>); default ci. */
  pool?: string;
  /** Namespaces governed (by kubernetes.io/metadata.name); default [ci]. */
  namespaces?: string[];
  podSelector?: Record<string, string>;
  requireGrant?: boolean;
  maxExpirationSeconds?: number;
  exemptions?: EndpointTrustPolicy['spec']['exemptions'];
}

export function makePolicy(
  name: string,
  key: VerifierKey,
  o: PolicyOptions = {},
): EndpointTrustPolicy {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'EndpointTrustPolicy',
    metadata: { name, uid: `uid-${name}`, resourceVersion: '1', generation: 1 },
    spec: {
      nodeSelector: { matchLabels: { pool: o.pool ?? 'ci' } },
      workloadSelector: {
        namespaceSelector: {
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'In', values: o.namespaces ?? ['ci'] },
          ],
        },
        ...(o.podSelector ? { podSelector: { matchLabels: o.podSelector } } : {}),
      },
      attestation: {
        verifiers: [
          {
            name: 'test-verifier',
            issuer: ISSUER,
            jwks: { keys: [key.publicJwk] },
            algorithms: ['ES256'],
          },
        ],
        maxAge: '5m',
        posture: [
          { key: 'diskEncryption', operator: 'Equals', values: ['true'] },
          { key: 'patchAgeDays', operator: 'LessThanOrEqual', values: ['14'] },
        ],
      },
      workloadIdentity: {
        requireGrant: o.requireGrant ?? true,
        maxExpirationSeconds: o.maxExpirationSeconds ?? 3600,
      },
      enforcement: { mode: o.mode ?? 'Enforce' },
      ...(o.exemptions ? { exemptions: o.exemptions } : {}),
    },
  };
}

export function makeExemption(
  name: string,
  namespace: string,
  spec: Partial<TrustExemption['spec']> & { expiresAt: string },
  created?: string,
): TrustExemption {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'TrustExemption',
    metadata: {
      name,
      namespace,
      ...(created ? { creationTimestamp: created as unknown as Date } : {}),
    },
    spec: { reason: `break-glass ${name}`, ...spec },
  };
}

export function makeGrant(
  name: string,
  namespace: string,
  serviceAccountName: string,
  policy: string,
  extra: Partial<WorkloadGrant['spec']> = {},
): WorkloadGrant {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'WorkloadGrant',
    metadata: { name, namespace },
    spec: { serviceAccountName, policyRef: { name: policy }, maxExpirationSeconds: 3600, ...extra },
  };
}

export interface WorldNode {
  name: string;
  labels: Record<string, string>;
  /** Signed attestation token; none means the node never attested. */
  token?: string;
}

export interface World {
  caches: AdmissionCaches;
  trust: TrustIndex;
}

export async function buildWorld(w: {
  policies: EndpointTrustPolicy[];
  nodes: WorldNode[];
  grants?: WorkloadGrant[];
  namespaces?: Record<string, Record<string, string>>;
  pods?: CachedPod[];
  legacyTokenSecrets?: string[];
  exemptions?: TrustExemption[];
  synced?: boolean;
}): Promise<World> {
  const trust = new TrustIndex();
  for (const p of w.policies) trust.upsertPolicy(p);
  for (const n of w.nodes) {
    trust.upsertNode(n.name, n.labels);
    if (n.token) trust.upsertAttestation(nodeAttestation(n.name, n.token));
  }
  await trust.settled();
  const caches = snapshotCaches({
    synced: w.synced,
    policies: w.policies,
    grants: w.grants,
    namespaces: w.namespaces ?? { ci: {}, default: {} },
    pods: w.pods,
    legacyTokenSecrets: w.legacyTokenSecrets,
    exemptions: w.exemptions,
    trust,
  });
  return { caches, trust };
}

// ---- AdmissionReview bodies, shaped as kube-apiserver sends them ----

let counter = 0;
const nextUid = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;

export interface ReviewBody {
  apiVersion: string;
  kind: string;
  request: Record<string, unknown> & { uid: string };
}

function review(request: Record<string, unknown>): ReviewBody {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: nextUid(), ...request },
  };
}

export function podReview(
  pod: Record<string, unknown>,
  namespace: string,
  opts: { operation?: 'CREATE' | 'UPDATE'; subResource?: string; username?: string } = {},
) {
  const sub = opts.subResource;
  return review({
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    ...(sub ? { subResource: sub } : {}),
    requestKind: { group: '', version: 'v1', kind: 'Pod' },
    requestResource: { group: '', version: 'v1', resource: 'pods' },
    name: (pod.metadata as { name?: string } | undefined)?.name,
    namespace,
    operation: opts.operation ?? 'CREATE',
    userInfo: {
      username: opts.username ?? 'system:serviceaccount:ci:deployer',
      groups: ['system:authenticated'],
    },
    object: pod,
    oldObject: opts.operation === 'UPDATE' ? pod : null,
    dryRun: false,
  });
}

export function bindingReview(namespace: string, pod: string, node: string) {
  return review({
    kind: { group: '', version: 'v1', kind: 'Binding' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    subResource: 'binding',
    name: pod,
    namespace,
    operation: 'CREATE',
    userInfo: { username: 'system:kube-scheduler', groups: ['system:authenticated'] },
    object: {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: pod, namespace },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    },
    oldObject: null,
    dryRun: false,
  });
}

export function tokenRequestReview(
  namespace: string,
  serviceAccount: string,
  spec: { audiences?: string[]; expirationSeconds?: number; boundPod?: string },
  username = 'system:serviceaccount:ci:deployer',
) {
  return review({
    kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' },
    resource: { group: '', version: 'v1', resource: 'serviceaccounts' },
    subResource: 'token',
    name: serviceAccount,
    namespace,
    operation: 'CREATE',
    userInfo: { username, groups: ['system:authenticated'] },
    object: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: { name: serviceAccount, namespace },
      spec: {
        audiences: spec.audiences ?? [],
        expirationSeconds: spec.expirationSeconds ?? 3600,
        ...(spec.boundPod
          ? {
              boundObjectRef: {
                kind: 'Pod',
                apiVersion: 'v1',
                name: spec.boundPod,
                uid: `uid-${spec.boundPod}`,
              },
            }
          : {}),
      },
    },
    oldObject: null,
    dryRun: false,
  });
}

/** A runner pod as a Deployment would create it (service-account token projected). */
export function runnerPod(
  name: string,
  o: {
    serviceAccount?: string;
    nodeName?: string;
    labels?: Record<string, string>;
    expirationSeconds?: number;
    audience?: string;
    secretVolume?: string;
  } = {},
): Record<string, unknown> {
  const volumes: Record<string, unknown>[] = [
    {
      name: 'kube-api-access',
      projected: {
        sources: [
          {
            serviceAccountToken: {
              expirationSeconds: o.expirationSeconds ?? 3607,
              path: 'token',
              ...(o.audience ? { audience: o.audience } : {}),
            },
          },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ],
      },
    },
  ];
  if (o.secretVolume) volumes.push({ name: 'legacy', secret: { secretName: o.secretVolume } });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'runner', ...(o.labels ?? {}) } },
    spec: {
      serviceAccountName: o.serviceAccount ?? 'runner',
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      containers: [{ name: 'runner', image: 'ghcr.io/example/runner:1.0' }],
      volumes,
    },
  };
}
