// Shared helpers for the chart tests: the real helm binary, rendering with value
// overrides, and the metric names trustgate exports (the contract the chart's alerts
// and the Grafana dashboard are checked against).
import { execFile } from 'node:child_process';
import { beforeAll } from '@jest/globals';
import { type CommandResult, type KubeObject, renderChart } from '../support/chart.ts';

export {
  CHART_DIR,
  type CommandResult,
  chartRunArgs,
  helm,
  type KubeObject,
  NAMESPACE,
  only,
  RELEASE,
  ROOT,
  renderChart,
  setArgs,
} from '../support/chart.ts';

/**
 * Every metric trustgate exports (besides prom-client's default process metrics); a test
 * holds this list to what webhook/metrics.ts and operator/controllers/metrics.ts register.
 */
export const TRUSTGATE_METRICS = {
  trustgate_admission_requests_total: 'counter',
  trustgate_admission_duration_seconds: 'histogram',
  trustgate_admission_errors_total: 'counter',
  trustgate_admission_exempted_total: 'counter',
  trustgate_nodes: 'gauge',
  trustgate_attestations_total: 'counter',
  trustgate_revocations_total: 'counter',
  trustgate_drift_to_revocation_seconds: 'histogram',
  trustgate_reconcile_duration_seconds: 'histogram',
  trustgate_workqueue_depth: 'gauge',
  trustgate_workqueue_retries_total: 'counter',
  trustgate_leader: 'gauge',
  trustgate_policy_report_writes_total: 'counter',
  trustgate_policy_reports_enabled: 'gauge',
} as const;

/** Metric names a PromQL expression reads, with histogram series suffixes removed. */
export function metricsIn(expr: string): string[] {
  const names = expr.match(/\btrustgate_[a-z0-9_]+/g) ?? [];
  return names.map((name) => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    const isHistogram =
      (TRUSTGATE_METRICS as Record<string, string>)[base] === 'histogram' && base !== name;
    return isHistogram ? base : name;
  });
}

/** The value combinations the tests render (each must lint and template cleanly). */
export const VARIANTS: Record<string, Record<string, string | number | boolean>> = {
  defaults: {},
  certManager: { 'certManager.enabled': true },
  monitoring: {
    'serviceMonitor.enabled': true,
    'prometheusRule.enabled': true,
    'grafana.dashboards.enabled': true,
  },
  chartManagedWebhook: { 'webhook.manageConfiguration': 'chart' },
  chartManagedWebhookWithCertManager: {
    'webhook.manageConfiguration': 'chart',
    'certManager.enabled': true,
  },
  networkPolicy: {
    'networkPolicy.enabled': true,
    'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name':
      'monitoring',
    'networkPolicy.apiServer.cidrs[0]': '10.0.0.1/32',
  },
};

/**
 * Renders every variant once, in a beforeAll of the calling test file, and returns the
 * lookup of a variant's objects for its tests.
 */
export function renderVariantsBeforeAll(): (variant: string) => KubeObject[] {
  const rendered = new Map<string, KubeObject[]>();
  beforeAll(async () => {
    for (const [name, sets] of Object.entries(VARIANTS)) {
      rendered.set(name, (await renderChart(sets)).objects);
    }
  }, 60_000);
  return (variant) => rendered.get(variant) as KubeObject[];
}

/** The Pod `helm test` runs (the one with the helm.sh/hook: test annotation). */
export function helmTestPod(objects: KubeObject[]): KubeObject {
  const pods = objects.filter(
    (o) =>
      o.kind === 'Pod' &&
      (o.metadata.annotations as Record<string, string> | undefined)?.['helm.sh/hook'] === 'test',
  );
  if (pods.length !== 1) throw new Error(`expected one helm test Pod, rendered ${pods.length}`);
  return pods[0] as KubeObject;
}

/**
 * Runs the helm test Pod's command here, with this Node, its env and `env` on top; resolves
 * with the exit code and output.
 */
export function runHelmTestCommand(
  pod: KubeObject,
  env: Record<string, string>,
): Promise<CommandResult> {
  const [container] = pod.spec.containers;
  const [command, ...args] = container.command as string[];
  if (command !== 'node') throw new Error(`the helm test Pod runs ${command}, not node`);
  const podEnv = Object.fromEntries(
    (container.env as { name: string; value: string }[]).map((e) => [e.name, e.value]),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      args,
      { env: { PATH: process.env.PATH, ...podEnv, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
