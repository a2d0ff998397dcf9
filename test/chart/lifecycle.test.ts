// helm install, upgrade and uninstall with the real helm binary against a cluster (the
// local control plane, or real Kubernetes on the real tier): the CRDs belong to the
// release, an upgrade changes them, and an uninstall leaves them and their objects.
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CRDS, GROUP } from '../../operator/api/crds.ts';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { CHART_DIR, type CommandResult, helm } from './support.ts';

const suffix = randomBytes(3).toString('hex');
const namespace = `trustgate-helm-${suffix}`;
const release = `tg-${suffix}`;
const crdNames = CRDS.map((c) => `${c.plural}.${GROUP}`);

describe('helm install, upgrade and uninstall', () => {
  let cluster: TestCluster;
  let chartCopy = '';

  const helmHere = (args: string[]): Promise<CommandResult> =>
    helm([...args, '--kubeconfig', cluster.kubeconfigPath, '--namespace', namespace]);
  const succeeded = (result: CommandResult) => {
    if (result.code !== 0) throw new Error(`helm failed: ${result.stderr}`);
  };
  async function crd(name: string) {
    const got = await cluster.kubectl(['get', 'crd', name, '-o', 'json']);
    expect(got.stderr).toBe('');
    return JSON.parse(got.stdout);
  }
  // The uninstall is about the CRDs: no hooks. --keep-history: the local control plane
  // cannot decode the protobuf DeleteOptions helm sends to purge its release Secret; the
  // Secret goes with the namespace instead.
  const uninstall = () => helmHere(['uninstall', release, '--no-hooks', '--keep-history']);

  beforeAll(async () => {
    cluster = await startTestCluster();
    const created = await cluster.kubectl(['create', 'namespace', namespace]);
    expect(created.stderr).toBe('');
    chartCopy = await mkdtemp(path.join(tmpdir(), 'trustgate-chart-'));
    await cp(CHART_DIR, chartCopy, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await uninstall();
    await cluster?.kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await cluster?.stop();
    if (chartCopy) await rm(chartCopy, { recursive: true, force: true });
  });

  it('installs the CRDs as part of the release, marked to be kept', async () => {
    // --take-ownership: a shared cluster may hold the CRDs already (applied by kubectl,
    // or kept from an earlier release).
    succeeded(
      await helmHere([
        'install',
        release,
        CHART_DIR,
        '--take-ownership',
        '--set',
        'replicaCount=1',
      ]),
    );
    for (const name of crdNames) {
      expect((await crd(name)).metadata.annotations).toMatchObject({
        'helm.sh/resource-policy': 'keep',
        'meta.helm.sh/release-name': release,
        'meta.helm.sh/release-namespace': namespace,
      });
    }
  }, 120_000);

  it('upgrades the CRDs with the release', async () => {
    // The next version of the API: one more printer column on NodeAttestation.
    const template = path.join(chartCopy, 'templates', 'crd-nodeattestations.yaml');
    const text = await readFile(template, 'utf8');
    const column = [
      '        - name: Upgraded',
      '          type: string',
      '          jsonPath: .spec.token',
      '          priority: 1',
      '',
    ].join('\n');
    const next = text.replace('      additionalPrinterColumns:\n', (m) => `${m}${column}`);
    expect(next).not.toBe(text);
    await writeFile(template, next);
    succeeded(await helmHere(['upgrade', release, chartCopy, '--reuse-values']));
    const columns = (await crd(`nodeattestations.${GROUP}`)).spec.versions[0]
      .additionalPrinterColumns as { name: string }[];
    expect(columns.map((c) => c.name)).toContain('Upgraded');
  }, 120_000);

  it('leaves the CRDs on uninstall, and removes what else it installed', async () => {
    succeeded(await uninstall());
    for (const name of crdNames) expect((await crd(name)).metadata.name).toBe(name);
    const roles = await cluster.kubectl(['get', 'clusterrole', `${release}-trustgate-view`]);
    expect(roles.stderr).toContain('NotFound');
  }, 120_000);
});
