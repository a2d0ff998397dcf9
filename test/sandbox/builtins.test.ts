// The built-in kinds a Helm chart installs (apps/v1 Deployments, Services, Endpoints,
// PodDisruptionBudgets, RBAC, PriorityClasses) through real kubectl: discovery names,
// apply / re-apply / strategic merge patches with kube's merge keys, the status
// subresource, table columns and the validation kube does on obviously broken objects.
// Runs against the sandbox or a real cluster (assertions leave room for real controllers).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { uniqueName } from './support.ts';

let cluster: TestCluster;
const ns = uniqueName('builtins');
const pcName = uniqueName('tg-test-priority');
const clusterRbac = uniqueName('tg-test-reader');
const k = (...args: string[]) => cluster.kubectl(args);
const apply = (obj: unknown) => cluster.kubectl(['apply', '-f', '-'], { input: yaml.dump(obj) });
// biome-ignore lint/suspicious/noExplicitAny: objects read back from kubectl are inspected field by field
const getJSON = async (...args: string[]): Promise<any> => {
  const r = await k('get', ...args, '-o', 'json');
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
};
const header = async (...args: string[]) =>
  ((await k('get', ...args)).stdout.split('\n')[0] ?? '').trim().split(/\s{2,}/);

beforeAll(async () => {
  cluster = await startTestCluster();
  expect((await k('create', 'namespace', ns)).code).toBe(0);
}, 30_000);

afterAll(async () => {
  await cluster?.kubectl(['delete', 'priorityclass', pcName, '--ignore-not-found']);
  await cluster?.kubectl([
    'delete',
    'clusterrole,clusterrolebinding',
    clusterRbac,
    '--ignore-not-found',
  ]);
  await cluster?.kubectl(['delete', 'namespace', ns, '--wait=false']);
  await cluster?.stop();
});

const deployment = (containers: unknown[], labels = { app: 'web' }) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: ns },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels }, spec: { containers } },
  },
});

describe('discovery', () => {
  it('lists the kinds with kube short names, scope and verbs', async () => {
    const r = await k('api-resources', '-o', 'wide', '--no-headers');
    const rows = new Map(
      r.stdout
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .map((cols) => [`${cols[0]} ${cols.find((c) => c.includes('/') || c === 'v1')}`, cols]),
    );
    const expectRow = (key: string, expected: string[]) => {
      const row = rows.get(key);
      expect(row).toBeDefined();
      expect(row).toEqual(expect.arrayContaining(expected));
    };
    const verbs = 'create,delete,deletecollection,get,list,patch,update,watch';
    expectRow('deployments apps/v1', ['deploy', 'true', 'Deployment', verbs]);
    expectRow('services v1', ['svc', 'true', 'Service']);
    expectRow('endpoints v1', ['ep', 'true', 'Endpoints']);
    expectRow('poddisruptionbudgets policy/v1', ['pdb', 'true', 'PodDisruptionBudget']);
    expectRow('priorityclasses scheduling.k8s.io/v1', ['pc', 'false', 'PriorityClass']);
    expectRow('roles rbac.authorization.k8s.io/v1', ['true', 'Role']);
    expectRow('rolebindings rbac.authorization.k8s.io/v1', ['true', 'RoleBinding']);
    expectRow('clusterroles rbac.authorization.k8s.io/v1', ['false', 'ClusterRole']);
    expectRow('clusterrolebindings rbac.authorization.k8s.io/v1', ['false', 'ClusterRoleBinding']);
  });

  it('puts deployments and services in the "all" category', async () => {
    const r = await k('api-resources', '--categories=all', '-o', 'name');
    expect(r.stdout.split('\n')).toEqual(
      expect.arrayContaining(['deployments.apps', 'services', 'pods']),
    );
  });
});

describe('Deployments', () => {
  it('are created with kube defaults, and an unchanged re-apply writes nothing', async () => {
    const created = await apply(deployment([{ name: 'app', image: 'nginx:1.27' }]));
    expect(created.stdout).toContain('deployment.apps/web created');
    const d = await getJSON('deploy', 'web', '-n', ns);
    expect(d.metadata.uid).toEqual(expect.any(String));
    expect(d.metadata.generation).toBe(1);
    expect(d.spec).toMatchObject({
      replicas: 0,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
      },
    });
    expect(d.spec.template.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
    });
    expect(d.spec.template.spec.containers[0]).toMatchObject({
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePath: '/dev/termination-log',
    });
    const again = await apply(deployment([{ name: 'app', image: 'nginx:1.27' }]));
    expect(again.stdout).toContain('deployment.apps/web unchanged');
    const after = await getJSON('deploy', 'web', '-n', ns);
    expect(after.metadata.generation).toBe(1);
  });

  it('merge containers, env, ports and volume mounts by their kube merge keys', async () => {
    const patch = (p: unknown) =>
      k('patch', 'deploy', 'web', '-n', ns, '--type=strategic', '-p', JSON.stringify(p));
    const podSpec = (spec: unknown) => ({ spec: { template: { spec } } });
    expect(
      (await patch(podSpec({ containers: [{ name: 'sidecar', image: 'busybox:1.36' }] }))).code,
    ).toBe(0);
    // A mount names a volume of the pod: kube refuses one whose volume is missing.
    const orphan = await patch(
      podSpec({
        containers: [{ name: 'app', volumeMounts: [{ name: 'tls', mountPath: '/tls' }] }],
      }),
    );
    expect(orphan.code).not.toBe(0);
    expect(orphan.stderr).toContain(
      'spec.template.spec.containers[1].volumeMounts[0].name: Not found: "tls"',
    );
    const first = await patch(
      podSpec({
        volumes: [{ name: 'tls', emptyDir: {} }],
        containers: [
          {
            name: 'app',
            env: [{ name: 'A', value: '1' }],
            ports: [{ containerPort: 8443 }],
            volumeMounts: [{ name: 'tls', mountPath: '/tls' }],
          },
        ],
      }),
    );
    expect(first.stderr).toBe('');
    const second = await patch(
      podSpec({
        volumes: [{ name: 'tmp', emptyDir: {} }],
        containers: [
          {
            name: 'app',
            env: [{ name: 'B', value: '2' }],
            ports: [{ containerPort: 8080, name: 'metrics' }],
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
        ],
      }),
    );
    expect(second.stderr).toBe('');
    const d = await getJSON('deploy', 'web', '-n', ns);
    const spec = d.spec.template.spec;
    // kube's order: an item a patch adds goes before the stored items the patch left alone.
    expect((spec.containers as { name: string }[]).map((c) => c.name)).toEqual(['sidecar', 'app']);
    expect(spec.volumes).toEqual([
      { name: 'tmp', emptyDir: {} },
      { name: 'tls', emptyDir: {} },
    ]);
    expect(spec.containers[1]).toMatchObject({
      image: 'nginx:1.27',
      env: [
        { name: 'B', value: '2' },
        { name: 'A', value: '1' },
      ],
      ports: [
        { containerPort: 8080, name: 'metrics', protocol: 'TCP' },
        { containerPort: 8443, protocol: 'TCP' },
      ],
      volumeMounts: [
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'tls', mountPath: '/tls' },
      ],
    });
    // Spec changes move the generation; three patches made, three steps.
    expect(d.metadata.generation).toBe(4);
  });

  it('apply keeps what another writer added, and removes only what it stopped declaring', async () => {
    const app = (env: { name: string; value: string }[]) =>
      deployment([{ name: 'app', image: 'nginx:1.28', env }]);
    const first = await apply(
      app([
        { name: 'A', value: '1' },
        { name: 'C', value: '3' },
      ]),
    );
    expect(first.stdout).toContain('deployment.apps/web configured');
    const envOf = async () => {
      const d = await getJSON('deploy', 'web', '-n', ns);
      return d.spec.template.spec.containers.find((c: { name: string }) => c.name === 'app').env;
    };
    // kubectl's three-way patch sends the applied order ($setElementOrder): A before C, and
    // B, which only the server had and which was stored before A, stays first.
    expect(await envOf()).toEqual([
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
      { name: 'C', value: '3' },
    ]);
    expect((await apply(app([{ name: 'A', value: '1' }]))).stdout).toContain('configured');
    const d = await getJSON('deploy', 'web', '-n', ns);
    const names = (d.spec.template.spec.containers as { name: string }[]).map((c) => c.name);
    expect(names).toEqual(['sidecar', 'app']);
    const container = d.spec.template.spec.containers[1];
    expect(container.image).toBe('nginx:1.28');
    // B came from a patch, not from apply: a later apply leaves it; C was applied, then dropped.
    expect(container.env).toEqual([
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
    ]);
  });

  it('keep status apart: a status write leaves spec and generation alone', async () => {
    const before = await getJSON('deploy', 'web', '-n', ns);
    const r = await k(
      'patch',
      'deploy',
      'web',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"spec":{"replicas":7},"status":{"observedGeneration":1}}',
    );
    expect(r.code).toBe(0);
    const after = await getJSON('deploy', 'web', '-n', ns);
    expect(after.spec.replicas).toBe(0);
    expect(after.metadata.generation).toBe(before.metadata.generation);
  });

  it('print kube columns', async () => {
    expect(await header('deploy', '-n', ns)).toEqual([
      'NAME',
      'READY',
      'UP-TO-DATE',
      'AVAILABLE',
      'AGE',
    ]);
    const wide = await k('get', 'deploy', 'web', '-n', ns, '-o', 'wide');
    expect(wide.stdout).toMatch(/CONTAINERS\s+IMAGES\s+SELECTOR/);
    expect(wide.stdout).toContain('app=web');
  });

  it('refuse a selector that does not match the template labels', async () => {
    const bad = { ...deployment([{ name: 'app', image: 'nginx' }], { app: 'other' }) };
    bad.metadata.name = 'mismatch';
    const r = await apply(bad);
    expect(r.code).not.toBe(0);
    // The labels as Go's %v prints a map.
    expect(r.stderr).toContain(
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"other"}: `selector` does not match template `labels`',
    );
  });
});

describe('Services and Endpoints', () => {
  it('default ports and print kube columns', async () => {
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'hook', namespace: ns },
      spec: { selector: { app: 'web' }, ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
    };
    const r = await apply(service);
    expect(r.stderr).toBe('');
    const svc = await getJSON('svc', 'hook', '-n', ns);
    expect(svc.spec).toMatchObject({ type: 'ClusterIP', sessionAffinity: 'None' });
    expect(svc.spec.ports[0]).toMatchObject({ port: 443, targetPort: 8443, protocol: 'TCP' });
    expect(await header('svc', 'hook', '-n', ns)).toEqual([
      'NAME',
      'TYPE',
      'CLUSTER-IP',
      'EXTERNAL-IP',
      'PORT(S)',
      'AGE',
    ]);
    expect((await k('get', 'svc', 'hook', '-n', ns)).stdout).toMatch(
      /ClusterIP\s+\S+\s+<none>\s+443\/TCP/,
    );
    expect((await apply(service)).stdout).toContain('service/hook unchanged');
  });

  it('stores Endpoints and prints their addresses', async () => {
    const r = await apply({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'manual', namespace: ns },
      subsets: [{ addresses: [{ ip: '10.1.2.3' }], ports: [{ port: 8443 }] }],
    });
    expect(r.stdout).toContain('endpoints/manual created');
    const got = await k('get', 'ep', 'manual', '-n', ns);
    expect(got.stdout).toMatch(/manual\s+10\.1\.2\.3:8443/);
  });
});

describe('PodDisruptionBudgets', () => {
  const pdb = (spec: Record<string, unknown>) => ({
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: 'web', namespace: ns },
    spec: { selector: { matchLabels: { app: 'web' } }, ...spec },
  });

  it('are stored with a status and generation, and print kube columns', async () => {
    expect((await apply(pdb({ maxUnavailable: 1 }))).stdout).toContain('created');
    const got = await getJSON('pdb', 'web', '-n', ns);
    expect(got.metadata.generation).toBe(1);
    expect(got.status).toEqual(expect.objectContaining({ disruptionsAllowed: expect.any(Number) }));
    expect(await header('pdb', '-n', ns)).toEqual([
      'NAME',
      'MIN AVAILABLE',
      'MAX UNAVAILABLE',
      'ALLOWED DISRUPTIONS',
      'AGE',
    ]);
    expect((await k('get', 'pdb', 'web', '-n', ns)).stdout).toMatch(/web\s+N\/A\s+1\s+/);
  });

  it('replace the selector whole on a strategic merge patch (patchStrategy replace)', async () => {
    const r = await k(
      'patch',
      'pdb',
      'web',
      '-n',
      ns,
      '-p',
      '{"spec":{"selector":{"matchLabels":{"tier":"front"}}}}',
    );
    expect(r.stderr).toBe('');
    const got = await getJSON('pdb', 'web', '-n', ns);
    expect(got.spec.selector).toEqual({ matchLabels: { tier: 'front' } });
    expect(got.metadata.generation).toBe(2);
  });

  it('refuse minAvailable together with maxUnavailable', async () => {
    const both = pdb({ minAvailable: 1, maxUnavailable: 1 });
    both.metadata.name = 'both';
    const r = await apply(both);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('minAvailable and maxUnavailable cannot be both set');
  });
});

describe('RBAC', () => {
  it('stores roles and bindings and prints kube columns', async () => {
    const objects = [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'reader', namespace: ns },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'reader', namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
      },
    ];
    const r = await cluster.kubectl(['apply', '-f', '-'], {
      input: objects.map((o) => yaml.dump(o)).join('---\n'),
    });
    expect(r.stderr).toBe('');
    expect(await header('role', '-n', ns)).toEqual(['NAME', 'CREATED AT']);
    expect(await header('rolebinding', '-n', ns)).toEqual(['NAME', 'ROLE', 'AGE']);
    const wide = await k('get', 'rolebinding', 'reader', '-n', ns, '-o', 'wide');
    expect(wide.stdout).toMatch(/reader\s+Role\/reader\s+\S+\s+.*\/default/);
  });

  it('stores cluster roles and bindings', async () => {
    const objects = [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: clusterRbac },
        rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: clusterRbac },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRbac },
        subjects: [{ kind: 'Group', name: 'tg-readers', apiGroup: 'rbac.authorization.k8s.io' }],
      },
    ];
    const r = await cluster.kubectl(['apply', '-f', '-'], {
      input: objects.map((o) => yaml.dump(o)).join('---\n'),
    });
    expect(r.stderr).toBe('');
    expect(await header('clusterrole', clusterRbac)).toEqual(['NAME', 'CREATED AT']);
    expect(await header('clusterrolebinding', clusterRbac)).toEqual(['NAME', 'ROLE', 'AGE']);
    expect((await k('get', 'clusterrolebinding', clusterRbac)).stdout).toContain(
      `ClusterRole/${clusterRbac}`,
    );
  });
});

describe('PriorityClasses', () => {
  it('include the two system classes from the start', async () => {
    const node = await getJSON('pc', 'system-node-critical');
    const clusterCritical = await getJSON('pc', 'system-cluster-critical');
    expect(node.value).toBe(2000001000);
    expect(clusterCritical.value).toBe(2000000000);
    expect(await header('pc')).toEqual([
      'NAME',
      'VALUE',
      'GLOBAL-DEFAULT',
      'AGE',
      'PREEMPTIONPOLICY',
    ]);
  });

  it('default preemptionPolicy and refuse a changed value', async () => {
    const pc = {
      apiVersion: 'scheduling.k8s.io/v1',
      kind: 'PriorityClass',
      metadata: { name: pcName },
      value: 1000,
    };
    expect((await apply(pc)).stdout).toContain('created');
    expect((await getJSON('pc', pcName)).preemptionPolicy).toBe('PreemptLowerPriority');
    const changed = await apply({ ...pc, value: 2000 });
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toContain('value: Forbidden: may not be changed in an update.');
  });
});
