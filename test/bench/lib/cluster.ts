// What the benchmarks that run `trustgate run` share: the sandbox (in this process) with
// trustgate's CRDs served and its namespace created, a client for it, the chart's `run`
// arguments, and waiting on a condition.
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { type Sandbox, startSandbox } from '../../../hack/sandbox/index.ts';
import { loadClusterAccess } from '../../../operator/kube/kubeconfig.ts';
import { KubeClient, resourcePath } from '../../../operator/kube/rest.ts';
import { chartRunArgs } from '../../support/chart.ts';
import { total } from '../../support/prom-text.ts';
import {
  startTrustgateProcess,
  type TrustgateProcess,
  warmCompileCache,
} from '../../support/trustgate-process.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SYSTEM_NS = 'trustgate-system';
export const TG = { group: 'trustgate.dev', version: 'v1alpha1' };

export interface BenchCluster {
  sandbox: Sandbox;
  client: KubeClient;
  /**
   * A fresh `trustgate run` child with the chart Deployment's arguments (helm template of
   * the default values, so it logs at the chart's level), ready, leading, and done with
   * its controllers' initial pass. Stopped by stop() if not before.
   */
  trustgate(): Promise<TrustgateProcess>;
  stop(): Promise<void>;
}

/** `--set key=value` options of a bench, as chart values (helm's --set). */
export function chartSets(sets: string[] = []): Record<string, string> {
  return Object.fromEntries(
    sets.map((s) => {
      const at = s.indexOf('=');
      if (at < 1) throw new Error(`--set ${s}: expected key=value`);
      return [s.slice(0, at), s.slice(at + 1)];
    }),
  );
}

/** `sets`: chart values to render the Deployment's arguments with (default: none). */
export async function startBenchCluster(sets: Record<string, string> = {}): Promise<BenchCluster> {
  const runArgs = await chartRunArgs(sets);
  console.log(`trustgate run ${runArgs.join(' ')} (the chart's arguments; loopback ports)`);
  await warmCompileCache(); // as the image build does
  // The machines these run on are shared: say how busy this one was, at start and stop.
  const load = () => os.loadavg()[0]?.toFixed(1);
  console.log(`load average (1 min) at start: ${load()} on ${os.availableParallelism()} CPUs`);
  const sandbox = await startSandbox();
  const client = new KubeClient(await loadClusterAccess(sandbox.kubeconfigPath));
  const crds = path.join(ROOT, 'crds');
  for (const file of (await readdir(crds)).filter((f) => f.endsWith('.yaml'))) {
    await client.create(
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      yaml.load(await readFile(path.join(crds, file), 'utf8')),
    );
  }
  await waitUntil(async () => {
    try {
      await client.get(resourcePath({ ...TG, plural: 'nodeattestations' }));
      return true;
    } catch {
      return false;
    }
  });
  sandbox.seed('', 'v1', 'namespaces', { metadata: { name: SYSTEM_NS } });
  const running = new Set<TrustgateProcess>();
  let seq = 0;
  return {
    sandbox,
    client,
    async trustgate() {
      const p = await startTrustgateProcess({
        kubeconfigPath: sandbox.kubeconfigPath,
        namespace: SYSTEM_NS,
        name: `bench-${process.pid}-${seq++}`,
        args: runArgs,
        echo: process.env.TG_ECHO === '1',
      });
      running.add(p);
      void p.exited().then(() => running.delete(p));
      await p.ready(180_000);
      await waitUntil(async () => total(await p.metrics(), 'trustgate_leader') === 1, 60_000);
      await settled(p);
      return p;
    },
    async stop() {
      console.log(`load average (1 min) at the end: ${load()}`);
      for (const p of running) await p.stop();
      client.close();
      await sandbox.stop();
    },
  };
}

export async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error('bench: timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Settled: every work queue empty and no reconcile finished for a second. Startup garbage
 * and the initial pass are over, so the RSS read next is the steady one.
 */
export async function settled(p: TrustgateProcess): Promise<void> {
  let last = -1;
  await waitUntil(async () => {
    const text = await p.metrics();
    const depth = total(text, 'trustgate_workqueue_depth');
    const reconciles = total(text, 'trustgate_reconcile_duration_seconds_count');
    const quiet = depth === 0 && reconciles === last;
    last = reconciles;
    if (!quiet) await new Promise((r) => setTimeout(r, 1000));
    return quiet;
  }, 180_000);
}
