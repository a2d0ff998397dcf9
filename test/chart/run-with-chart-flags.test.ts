// Starts the real `trustgate run` with the exact arguments the chart's Deployment passes
// (plus the kubeconfig and a URL, as outside a cluster) against the local control plane,
// and checks it comes up ready and uses the Lease, TLS Secret and webhook configuration
// the chart grants RBAC on. Sandbox only: it registers a webhook pointing at 127.0.0.1.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { startTestCluster, type TestCluster } from '../support/cluster.ts';
import { freePort } from '../support/trustgate-process.ts';
import {
  helmTestPod,
  type KubeObject,
  only,
  ROOT,
  renderChart,
  runHelmTestCommand,
} from './support.ts';

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

describe('trustgate run with the chart Deployment arguments', () => {
  const namespace = `trustgate-run-${randomBytes(3).toString('hex')}`;
  let cluster: TestCluster;
  let objects: KubeObject[];
  let child: ChildProcess | undefined;
  let output = '';
  let metricsPort = 0;
  let webhookPort = 0;

  beforeAll(async () => {
    cluster = await startTestCluster();
    const rendered = await renderChart({}, ['--namespace', namespace]);
    objects = rendered.objects;
    const setup = [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
      ...objects.filter((o) => o.kind === 'CustomResourceDefinition'),
    ];
    const applied = await cluster.kubectl(['apply', '-f', '-'], {
      input: setup.map((o) => yaml.dump(o)).join('---\n'),
    });
    expect(applied.stderr).toBe('');

    const [container] = only(objects, 'Deployment').spec.template.spec.containers;
    webhookPort = await freePort();
    metricsPort = await freePort();
    child = spawn(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'trustgate.js'),
        ...container.args,
        `--kubeconfig=${cluster.kubeconfigPath}`,
        `--webhook-url=https://127.0.0.1:${webhookPort}/validate`,
        '--bind-address=127.0.0.1',
        // Later values win: free ports instead of the in-pod 9443/8080.
        `--webhook-port=${webhookPort}`,
        `--metrics-port=${metricsPort}`,
      ],
      { env: { ...process.env, POD_NAME: 'chart-smoke-0' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    // A shared cluster is left as it was found: no webhook configuration pointing nowhere.
    if (objects) {
      await cluster?.kubectl([
        'delete',
        'validatingwebhookconfiguration',
        argValue('webhook-config-name'),
        '--ignore-not-found',
      ]);
    }
    await cluster?.kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await cluster?.stop();
  });

  const argValue = (flag: string) => {
    const [container] = only(objects, 'Deployment').spec.template.spec.containers;
    const arg = (container.args as string[]).find((a) => a.startsWith(`--${flag}=`));
    return arg?.slice(flag.length + 3) ?? '';
  };

  it('becomes ready', async () => {
    const ready = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      return res.status === 200;
    }, 30_000);
    if (!ready) throw new Error(`trustgate run did not become ready:\n${output.slice(-4000)}`);
  }, 40_000);

  it('leads through the Lease the chart grants', async () => {
    const holder = async () =>
      (
        await cluster.kubectl([
          'get',
          'lease',
          argValue('lease-name'),
          '-n',
          namespace,
          '-o',
          'jsonpath={.spec.holderIdentity}',
        ])
      ).stdout;
    expect(await waitFor(async () => (await holder()).startsWith('chart-smoke-0'), 20_000)).toBe(
      true,
    );
  }, 30_000);

  it('keeps its certificate in the TLS Secret the chart grants', async () => {
    const secret = await cluster.kubectl([
      'get',
      'secret',
      argValue('tls-secret'),
      '-n',
      namespace,
      '-o',
      'jsonpath={.data}',
    ]);
    expect(secret.code).toBe(0);
    expect(Object.keys(JSON.parse(secret.stdout))).toEqual(
      expect.arrayContaining(['tls.crt', 'tls.key']),
    );
  });

  it('writes the webhook configuration the chart names, with a caBundle', async () => {
    const name = argValue('webhook-config-name');
    const found = await waitFor(
      async () =>
        (await cluster.kubectl(['get', 'validatingwebhookconfiguration', name])).code === 0,
      20_000,
    );
    expect(found).toBe(true);
    const config = JSON.parse(
      (await cluster.kubectl(['get', 'validatingwebhookconfiguration', name, '-o', 'json'])).stdout,
    );
    for (const webhook of config.webhooks) {
      expect(webhook.clientConfig.caBundle).toBeTruthy();
      expect(webhook.namespaceSelector.matchExpressions[0].values).toEqual(
        expect.arrayContaining(['kube-system', namespace]),
      );
    }
  }, 30_000);

  it("passes the chart's `helm test` check, run against its ports", async () => {
    const pod = helmTestPod(objects);
    const ports = { METRICS_PORT: String(metricsPort), WEBHOOK_PORT: String(webhookPort) };
    const passed = await runHelmTestCommand(pod, { TRUSTGATE_ADDRESS: '127.0.0.1', ...ports });
    expect(passed.stderr).toBe('');
    expect(passed.code).toBe(0);
    expect(passed.stdout).toContain(`TLS certificate names tg-trustgate.${namespace}.svc`);

    // A certificate for another name, or nothing listening, fails the check.
    const wrongName = await runHelmTestCommand(pod, {
      TRUSTGATE_ADDRESS: '127.0.0.1',
      TRUSTGATE_SERVICE: 'other.example.svc',
      ...ports,
    });
    expect(wrongName.code).toBe(1);
    expect(wrongName.stderr).toContain('not other.example.svc');
    const down = await runHelmTestCommand(pod, {
      TRUSTGATE_ADDRESS: '127.0.0.1',
      METRICS_PORT: String(await freePort()),
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('trustgate check failed');
  }, 60_000);

  it('exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
    child?.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 30_000);
});
