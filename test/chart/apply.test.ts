// Applies the rendered chart with `kubectl apply --dry-run=server` against a cluster:
// trustgate's local control plane, or real Kubernetes (KUBEBUILDER_ASSETS or
// TRUSTGATE_TEST_KUBECONFIG; test/support/cluster.ts decides). The API server then validates
// every object as it would on install, without persisting anything.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { type KubeObject, ROOT, renderChart, VARIANTS } from './support.ts';

interface TestCluster {
  kubectl(
    args: string[],
    opts?: { input?: string },
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

const CLUSTER_HELPER = path.join(ROOT, 'test', 'support', 'cluster.ts');
// Skipped only where the test-cluster helper is absent (it ships with the sandbox).
const describeWithCluster = existsSync(CLUSTER_HELPER) ? describe : describe.skip;

/** Kinds whose CRDs (cert-manager, prometheus-operator) a test cluster usually lacks. */
const THIRD_PARTY_GROUPS = ['cert-manager.io', 'monitoring.coreos.com'];
/** Built-ins the local control plane does not serve (it has no network); real Kubernetes does. */
const NOT_IN_SANDBOX = new Set(['NetworkPolicy']);

describeWithCluster('kubectl apply --dry-run=server of the rendered chart', () => {
  let cluster: TestCluster;
  let servedKinds: Set<string>;
  // A namespace of its own, so a real cluster is left as it was found.
  const namespace = `trustgate-chart-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    const { startTestCluster } = (await import(CLUSTER_HELPER)) as {
      startTestCluster(): Promise<TestCluster>;
    };
    cluster = await startTestCluster();
    const resources = await cluster.kubectl(['api-resources', '-o', 'wide', '--no-headers']);
    expect(resources.stderr).toBe('');
    // Columns: NAME [SHORTNAMES] APIVERSION NAMESPACED KIND VERBS...; KIND follows true/false.
    servedKinds = new Set(
      resources.stdout
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .map((cols) => cols[cols.findIndex((c) => c === 'true' || c === 'false') + 1])
        .filter((kind): kind is string => Boolean(kind)),
    );
    const created = await cluster.kubectl(['apply', '-f', '-'], {
      input: yaml.dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } }),
    });
    expect(created.stderr).toBe('');
    // The chart's `helm test` Pod runs as the namespace's default ServiceAccount, which
    // kube-controller-manager creates a moment after the namespace on a real cluster.
    const defaultSa = await cluster.kubectl([
      'wait',
      '--for=create',
      'serviceaccount/default',
      '-n',
      namespace,
      '--timeout=30s',
    ]);
    expect(defaultSa.stderr).toBe('');
  }, 120_000);

  afterAll(async () => {
    await cluster?.kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await cluster?.stop();
  });

  async function dryRunApply(objects: KubeObject[]) {
    const input = objects.map((o) => yaml.dump(o)).join('---\n');
    return cluster.kubectl(['apply', '--dry-run=server', '-f', '-'], { input });
  }

  it.each(Object.keys(VARIANTS))('accepts every object the server serves (%s)', async (variant) => {
    const { objects } = await renderChart(VARIANTS[variant] ?? {}, ['--namespace', namespace]);
    const thirdParty = (o: KubeObject) =>
      THIRD_PARTY_GROUPS.some((g) => o.apiVersion.startsWith(`${g}/`));
    const applicable = objects.filter((o) => servedKinds.has(o.kind) && !thirdParty(o));
    // Only third-party kinds are left out, and on the sandbox the built-ins it lacks.
    const unserved = objects.filter(
      (o) => !servedKinds.has(o.kind) && !thirdParty(o) && !NOT_IN_SANDBOX.has(o.kind),
    );
    expect(unserved.map((o) => `${o.apiVersion} ${o.kind}`)).toEqual([]);
    expect(applicable.map((o) => o.kind)).toEqual(
      expect.arrayContaining([
        'CustomResourceDefinition',
        'ServiceAccount',
        'Deployment',
        'Service',
        'PodDisruptionBudget',
        'ClusterRole',
        'ClusterRoleBinding',
        'Role',
        'RoleBinding',
      ]),
    );

    const result = await dryRunApply(applicable);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const o of applicable) {
      expect(result.stdout).toContain(`${o.metadata.name} created (server dry run)`);
    }
  });

  it('persists nothing', async () => {
    const { objects } = await renderChart(VARIANTS.chartManagedWebhook ?? {}, [
      '--namespace',
      namespace,
    ]);
    const config = objects.find((o) => o.kind === 'ValidatingWebhookConfiguration') as KubeObject;
    await dryRunApply([config]);
    const got = await cluster.kubectl([
      'get',
      'validatingwebhookconfiguration',
      config.metadata.name,
    ]);
    expect(got.code).not.toBe(0);
    expect(got.stderr).toContain('NotFound');
  });
});
