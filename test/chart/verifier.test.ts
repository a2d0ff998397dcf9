// The chart's central verifier (values verifier.*): one Deployment of `trustgate attest
// publish` holding the key from a Secret, posture from a per-node source, bound to the
// existing "<fullname>-verifier" ClusterRole, which grants exactly what publish uses.
import { beforeAll, describe, expect, it } from '@jest/globals';
import {
  CHART_DIR,
  helm,
  type KubeObject,
  NAMESPACE,
  RELEASE,
  renderChart,
  setArgs,
} from '../support/chart.ts';

const VERIFIER = {
  'verifier.enabled': true,
  'verifier.keySecret.name': 'attestor-key',
  'verifier.issuer': 'https://attestor.corp.example',
  'verifier.posture.configMap': 'node-posture',
  'verifier.nodeSelector.pool': 'system',
};
const FULLNAME = `${RELEASE}-trustgate`;

let objects: KubeObject[];
beforeAll(async () => {
  objects = (await renderChart(VERIFIER)).objects;
}, 60_000);

const named = (kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name) as KubeObject;

describe('verifier.enabled', () => {
  it('passes helm lint --strict', async () => {
    const r = await helm([
      'lint',
      CHART_DIR,
      '--strict',
      '--namespace',
      NAMESPACE,
      ...setArgs(VERIFIER),
    ]);
    expect(r.stdout).toContain('0 chart(s) failed');
  });

  it('runs one attest publish with the key from the Secret and posture from the ConfigMap', () => {
    const d = named('Deployment', `${FULLNAME}-verifier`);
    expect(d.spec.replicas).toBe(1);
    const pod = d.spec.template.spec;
    expect(pod.serviceAccountName).toBe(`${FULLNAME}-verifier`);
    expect(pod.nodeSelector).toEqual({ pool: 'system' });
    const [c] = pod.containers;
    expect(c.args.slice(0, 2)).toEqual(['attest', 'publish']);
    expect(c.args).toEqual(
      expect.arrayContaining([
        '--key=/etc/trustgate-verifier/key/private.jwk',
        '--issuer=https://attestor.corp.example',
        '--posture-dir=/etc/trustgate-verifier/posture',
        '--interval=30s',
      ]),
    );
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    const key = pod.volumes.find((v: { name: string }) => v.name === 'key');
    expect(key.secret).toMatchObject({ secretName: 'attestor-key', defaultMode: 0o400 });
    expect(pod.volumes.find((v: { name: string }) => v.name === 'posture').configMap.name).toBe(
      'node-posture',
    );
  });

  it("never shares trustgate's selector labels (Service, PDB, NetworkPolicy)", () => {
    const pod = named('Deployment', `${FULLNAME}-verifier`).spec.template.metadata.labels;
    const main = named('Deployment', FULLNAME).spec.selector.matchLabels;
    const service = objects.find((o) => o.kind === 'Service')?.spec.selector;
    for (const selector of [main, service]) {
      const matches = Object.entries(selector).every(([k, v]) => pod[k] === v);
      expect(matches).toBe(false);
    }
  });

  it('binds the existing verifier ClusterRole: NodeAttestation writes and status get, no delete', () => {
    const binding = named('ClusterRoleBinding', `${FULLNAME}-verifier`);
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: `${FULLNAME}-verifier`,
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: `${FULLNAME}-verifier`, namespace: NAMESPACE },
    ]);
    const role = named('ClusterRole', `${FULLNAME}-verifier`);
    expect(role.rules).toEqual([
      {
        apiGroups: ['trustgate.dev'],
        resources: ['nodeattestations'],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
      },
      { apiGroups: ['trustgate.dev'], resources: ['nodeattestations/status'], verbs: ['get'] },
    ]);
  });

  it('a posture command and its nodes become flags', async () => {
    const { objects: o } = await renderChart({
      ...VERIFIER,
      'verifier.posture.configMap': '',
      'verifier.posture.command': 'curl -sf https://edr.corp.example/ear/$TRUSTGATE_NODE',
      'verifier.nodes[0]': 'runner-1',
      'verifier.nodes[1]': 'runner-2',
    });
    const d = o.find((x) => x.kind === 'Deployment' && x.metadata.name === `${FULLNAME}-verifier`);
    expect(d?.spec.template.spec.containers[0].args).toEqual(
      expect.arrayContaining([
        '--node=runner-1',
        '--node=runner-2',
        '--posture-command=curl -sf https://edr.corp.example/ear/$TRUSTGATE_NODE',
      ]),
    );
    expect(d?.spec.template.spec.volumes).toHaveLength(1);
  });

  it.each([
    ['verifier.nodeSelector.pool', {}, /its private key never sits on a node it judges/],
    ['verifier.keySecret.name', {}, /verifier.keySecret.name/],
    ['verifier.issuer', {}, /verifier.issuer/],
    ['', { 'rbac.verifierRole': false }, /needs rbac.verifierRole/],
    ['verifier.posture.configMap', {}, /exactly one of configMap/],
  ])('refuses to render without %s %o', async (omit, extra, message) => {
    const sets: Record<string, string | boolean> = { ...VERIFIER, ...extra };
    delete sets[omit];
    await expect(renderChart(sets)).rejects.toThrow(message);
  });

  it('is off by default', async () => {
    const { objects: o } = await renderChart({});
    expect(
      o.some((x) => x.metadata.name === `${FULLNAME}-verifier` && x.kind === 'Deployment'),
    ).toBe(false);
  });
});
