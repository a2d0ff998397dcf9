// The demo's admission story as files (hack/examples/demo/): policy, grant, runner nodes,
// their signed attestations (runner-1 compliant, runner-2 without disk encryption), the
// three pods the demo creates, and a `trustgate test` table with the outcomes the demo
// shows. CI runs `trustgate test -f hack/examples/demo/tests.yaml` to get them offline.
import yaml from 'js-yaml';
import {
  GOOD_POSTURE,
  NAMESPACE,
  POLICY,
  POOL_LABEL,
  runnerPod,
  setupManifests,
} from '../demo/manifests.ts';

/** Attestations are signed at this instant; the tests evaluate one minute later. */
export const DEMO_IAT = '2026-01-01T00:00:00Z';
export const DEMO_NOW = '2026-01-01T00:01:00Z';

export type Signer = (node: string, posture: object) => Promise<string>;

const dump = (...docs: object[]) =>
  docs.map((d) => yaml.dump(d, { lineWidth: -1, noRefs: true })).join('---\n');

const node = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name, labels: { [POOL_LABEL]: POLICY } },
});

const attestation = (name: string, token: string) => ({
  apiVersion: 'trustgate.dev/v1alpha1',
  kind: 'NodeAttestation',
  metadata: { name },
  spec: { token },
});

/** File name → content. */
export async function demoAdmissionFiles(
  jwks: unknown,
  sign: Signer,
): Promise<Record<string, string>> {
  const tests = {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'Test',
    metadata: { name: 'demo-admission' },
    resources: ['setup.yaml', 'nodes.yaml', 'attestations.yaml', 'pods.yaml'],
    now: DEMO_NOW,
    results: [
      { kind: 'Pod', namespace: NAMESPACE, name: 'runner-a', result: 'allowed' },
      {
        kind: 'Pod',
        namespace: NAMESPACE,
        name: 'runner-b',
        result: 'denied',
        reason: 'node runner-2: posture diskEncryption is false',
      },
      {
        kind: 'Pod',
        namespace: NAMESPACE,
        name: 'intruder',
        result: 'denied',
        reason: 'no WorkloadGrant names the service account',
      },
    ],
  };
  return {
    'setup.yaml': setupManifests(jwks, '0s'),
    'nodes.yaml': dump(node('runner-1'), node('runner-2')),
    'attestations.yaml': `# Signed with the DEMO key in ../keys/ at ${DEMO_IAT}: evaluate with --now ${DEMO_NOW}.\n${dump(
      attestation('runner-1', await sign('runner-1', GOOD_POSTURE)),
      attestation('runner-2', await sign('runner-2', { ...GOOD_POSTURE, diskEncryption: false })),
    )}`,
    'pods.yaml': [
      runnerPod('runner-a', 'runner-1'),
      runnerPod('runner-b', 'runner-2'),
      runnerPod('intruder', 'runner-1', 'intruder'),
    ].join('---\n'),
    'tests.yaml': `# trustgate test -f hack/examples/demo/tests.yaml\n${dump(tests)}`,
  };
}
