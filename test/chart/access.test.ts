// Who may do what with trustgate's kinds (the user ClusterRoles), and who may reach
// trustgate's pods over the network (the optional NetworkPolicy).
import { describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { CRDS, GROUP } from '../../operator/api/crds.ts';
import {
  CHART_DIR,
  helm,
  helmTestPod,
  type KubeObject,
  NAMESPACE,
  only,
  renderChart,
  renderVariantsBeforeAll,
} from './support.ts';

const objectsOf = renderVariantsBeforeAll();

const AGGREGATE = 'rbac.authorization.k8s.io/aggregate-to-';
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

function role(objects: KubeObject[], suffix: string): KubeObject {
  return objects.find(
    (o) => o.kind === 'ClusterRole' && o.metadata.name === `tg-trustgate-${suffix}`,
  ) as KubeObject;
}
const aggregatesTo = (o: KubeObject) =>
  Object.keys(o.metadata.labels ?? {})
    .filter((l) => l.startsWith(AGGREGATE))
    .map((l) => l.slice(AGGREGATE.length))
    .sort();
const verbsOn = (o: KubeObject, resource: string) =>
  (o.rules as Rule[])
    .filter((r) => r.resources.includes(resource))
    .flatMap((r) => r.verbs)
    .sort();

describe('user ClusterRoles', () => {
  const byKind = Object.fromEntries(CRDS.map((c) => [c.kind, c.plural]));

  it('view: reads every trustgate kind and writes nothing, aggregated into view', () => {
    const view = role(objectsOf('defaults'), 'view');
    expect(aggregatesTo(view)).toEqual(['view']);
    for (const rule of view.rules as Rule[]) {
      expect(rule.apiGroups).toEqual([GROUP]);
      expect(rule.verbs).toEqual(['get', 'list', 'watch']);
    }
    for (const crd of CRDS) {
      expect(verbsOn(view, crd.plural)).toEqual(['get', 'list', 'watch']);
      expect(verbsOn(view, `${crd.plural}/status`)).toEqual(['get', 'list', 'watch']);
    }
  });

  it('edit: manages WorkloadGrants only, aggregated into admin only', () => {
    const edit = role(objectsOf('defaults'), 'edit');
    // A grant authorizes an identity, like a RoleBinding: admin may write those, edit not.
    expect(aggregatesTo(edit)).toEqual(['admin']);
    expect((edit.rules as Rule[]).flatMap((r) => r.resources)).toEqual([byKind.WorkloadGrant]);
    expect(verbsOn(edit, byKind.WorkloadGrant as string)).toEqual(
      ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'].sort(),
    );
  });

  it('verifier: writes NodeAttestations and reads their status; no delete, not aggregated', () => {
    const verifier = role(objectsOf('defaults'), 'verifier');
    expect(aggregatesTo(verifier)).toEqual([]);
    expect(verifier.rules).toEqual([
      {
        apiGroups: [GROUP],
        resources: [byKind.NodeAttestation],
        verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'],
      },
      { apiGroups: [GROUP], resources: [`${byKind.NodeAttestation}/status`], verbs: ['get'] },
    ]);
  });

  it('break-glass: manages TrustExemptions only, aggregated into nothing', () => {
    // An exemption lifts security policy: bound deliberately (a RoleBinding per namespace).
    const breakGlass = role(objectsOf('defaults'), 'break-glass');
    expect(aggregatesTo(breakGlass)).toEqual([]);
    expect((breakGlass.rules as Rule[]).flatMap((r) => r.resources)).toEqual([
      byKind.TrustExemption,
    ]);
    expect(verbsOn(breakGlass, byKind.TrustExemption as string).sort()).toEqual(
      ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'].sort(),
    );
  });

  it('let no aggregated role write a cluster-scoped kind (policies, attestations)', () => {
    const clusterScoped = CRDS.filter((c) => c.scope === 'Cluster').map((c) => c.plural);
    const aggregated = objectsOf('defaults').filter(
      (o) => o.kind === 'ClusterRole' && aggregatesTo(o).length > 0,
    );
    expect(aggregated).toHaveLength(2);
    for (const o of aggregated) {
      for (const plural of clusterScoped) {
        expect(verbsOn(o, plural).filter((v) => !['get', 'list', 'watch'].includes(v))).toEqual([]);
      }
    }
  });

  it('are named <fullname>-view, -edit and -verifier (trustgate-* for release trustgate)', async () => {
    const result = await helm(['template', 'trustgate', CHART_DIR, '--namespace', NAMESPACE]);
    const names = (yaml.loadAll(result.stdout) as KubeObject[])
      .filter((o) => o?.kind === 'ClusterRole')
      .map((o) => o.metadata.name);
    expect(names).toEqual(
      expect.arrayContaining(['trustgate-view', 'trustgate-edit', 'trustgate-verifier']),
    );
  });

  it('can each be left out', async () => {
    const { objects } = await renderChart({
      'rbac.aggregatedRoles': false,
      'rbac.verifierRole': false,
    });
    for (const suffix of ['view', 'edit', 'verifier', 'break-glass']) {
      expect(role(objects, suffix)).toBeUndefined();
    }
  });
});

describe('the NetworkPolicy', () => {
  it('is rendered only with networkPolicy.enabled', () => {
    expect(objectsOf('defaults').some((o) => o.kind === 'NetworkPolicy')).toBe(false);
    expect(only(objectsOf('networkPolicy'), 'NetworkPolicy')).toBeDefined();
  });

  it("isolates trustgate's pods both ways", () => {
    const objects = objectsOf('networkPolicy');
    const policy = only(objects, 'NetworkPolicy');
    expect(policy.spec.podSelector).toEqual(only(objects, 'Deployment').spec.selector);
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  it('opens the webhook port to any source and metrics only to the listed peers', () => {
    const objects = objectsOf('networkPolicy');
    const policy = only(objects, 'NetworkPolicy');
    const [container] = only(objects, 'Deployment').spec.template.spec.containers;
    const portNames = container.ports.map((p: { name: string }) => p.name);
    const rule = (port: string) =>
      policy.spec.ingress.find((r: { ports: { port: string }[] }) =>
        r.ports.some((p) => p.port === port),
      );
    expect(policy.spec.ingress).toHaveLength(2);
    for (const r of policy.spec.ingress) {
      for (const p of r.ports) expect(portNames).toContain(p.port);
    }
    // The API server's address is unknown in general: no `from` on the webhook port.
    expect(rule('webhook').from).toBeUndefined();
    expect(rule('webhook').ports).toEqual([{ port: 'webhook', protocol: 'TCP' }]);
    const from = rule('metrics').from;
    expect(from).toContainEqual({
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    });
    // The helm test Pod reads /readyz: the rule selects it, and only pods labelled as it is.
    const testPeer = from.find((p: { podSelector?: object }) => p.podSelector);
    const testLabels = helmTestPod(objects).metadata.labels ?? {};
    for (const [key, value] of Object.entries(testPeer.podSelector.matchLabels)) {
      expect(testLabels[key]).toBe(value);
    }
    expect(from).toHaveLength(2);
  });

  it('lets trustgate reach only the API server', () => {
    const policy = only(objectsOf('networkPolicy'), 'NetworkPolicy');
    expect(policy.spec.egress).toEqual([
      {
        ports: [
          { port: 443, protocol: 'TCP' },
          { port: 6443, protocol: 'TCP' },
        ],
        to: [{ ipBlock: { cidr: '10.0.0.1/32' } }],
      },
    ]);
  });

  it('refuses peers and CIDRs that are not NetworkPolicy shapes', async () => {
    const refusal = (sets: Record<string, string | number | boolean>) =>
      renderChart({ 'networkPolicy.enabled': true, ...sets }).then(
        () => 'rendered',
        (err: Error) => err.message,
      );
    expect(await refusal({ 'networkPolicy.metricsFrom[0].namespace': 'monitoring' })).toContain(
      "additional properties 'namespace' not allowed",
    );
    expect(await refusal({ 'networkPolicy.apiServer.cidrs[0]': '10.0.0.1' })).toContain(
      '/networkPolicy/apiServer/cidrs/0',
    );
  });
});
