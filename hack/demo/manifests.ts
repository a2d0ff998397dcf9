// The resources of the demo's story, as an admin would write them.
import yaml from 'js-yaml';

export const POLICY = 'ci-runners';
export const NAMESPACE = 'ci';
export const RUNNER_SA = 'ci-runner';
// Under node-restriction.kubernetes.io/ so a kubelet cannot move its own node in or out
// of the pool (the NodeRestriction admission plugin forbids kubelets that prefix).
export const POOL_LABEL = 'node-restriction.kubernetes.io/trustgate-pool';
export const ISSUER = 'https://verifier.demo.trustgate.dev';

export const GOOD_POSTURE = {
  diskEncryption: true,
  secureBoot: true,
  patchAgeDays: 3,
  edr: { healthy: true, version: '7.4.2' },
  enrollment: 'managed',
};

/**
 * The CI-runner policy's attestation rules, shared with hack/examples/generate.ts: the demo
 * verifier's signed posture, at most 2 minutes old.
 */
export function demoAttestation(jwks: unknown) {
  return {
    verifiers: [{ name: 'demo-verifier', issuer: ISSUER, jwks, algorithms: ['ES256'] }],
    maxAge: '2m',
    minimumStatus: 'affirming',
    posture: [
      { key: 'diskEncryption', operator: 'Equals', values: ['true'] },
      { key: 'secureBoot', operator: 'Equals', values: ['true'] },
      { key: 'patchAgeDays', operator: 'LessThanOrEqual', values: ['14'] },
      { key: 'edr.healthy', operator: 'Equals', values: ['true'] },
    ],
  };
}

const toYaml = (...docs: object[]) =>
  docs.map((d) => yaml.dump(d, { lineWidth: -1 })).join('---\n');

/** Namespaces, the runner service account, the CI-runner policy and the runner's grant. */
export function setupManifests(jwks: unknown, gracePeriod: string): string {
  return toYaml(
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NAMESPACE, labels: { 'trustgate.dev/governed': 'true' } },
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: RUNNER_SA, namespace: NAMESPACE },
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'intruder', namespace: NAMESPACE },
    },
    {
      apiVersion: 'trustgate.dev/v1alpha1',
      kind: 'EndpointTrustPolicy',
      metadata: { name: POLICY },
      spec: {
        nodeSelector: { matchLabels: { [POOL_LABEL]: POLICY } },
        workloadSelector: {
          namespaceSelector: { matchLabels: { 'trustgate.dev/governed': 'true' } },
        },
        attestation: demoAttestation(jwks),
        enforcement: { mode: 'Enforce', onDrift: { gracePeriod, podAction: 'ForceDelete' } },
      },
    },
    {
      apiVersion: 'trustgate.dev/v1alpha1',
      kind: 'WorkloadGrant',
      metadata: { name: RUNNER_SA, namespace: NAMESPACE },
      spec: {
        serviceAccountName: RUNNER_SA,
        policyRef: { name: POLICY },
        maxExpirationSeconds: 3600,
      },
    },
  );
}

export function runnerPod(name: string, node: string, serviceAccount = RUNNER_SA): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE, labels: { app: 'ci-runner' } },
    spec: {
      serviceAccountName: serviceAccount,
      nodeName: node,
      containers: [{ name: 'runner', image: 'ghcr.io/actions/actions-runner:2.330.0' }],
    },
  });
}
