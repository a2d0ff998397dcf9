// Shared helpers for the chart tests: the real helm binary, rendering with value
// overrides, and the metric names trustgate exports (the contract the chart's alerts
// and the Grafana dashboard are checked against).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll } from '@jest/globals';
import yaml from 'js-yaml';
import { ensureTools } from '../../hack/tools.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART_DIR = path.join(ROOT, 'charts', 'trustgate');
export const RELEASE = 'tg';
export const NAMESPACE = 'trustgate-system';

/**
 * Every metric trustgate exports (besides prom-client's default process metrics); a test
 * holds this list to what webhook/metrics.ts and operator/controllers/metrics.ts register.
 */
export const TRUSTGATE_METRICS = {
  trustgate_admission_requests_total: 'counter',
  trustgate_admission_duration_seconds: 'histogram',
  trustgate_admission_errors_total: 'counter',
  trustgate_nodes: 'gauge',
  trustgate_attestations_total: 'counter',
  trustgate_revocations_total: 'counter',
  trustgate_drift_to_revocation_seconds: 'histogram',
  trustgate_reconcile_duration_seconds: 'histogram',
  trustgate_workqueue_depth: 'gauge',
  trustgate_workqueue_retries_total: 'counter',
  trustgate_leader: 'gauge',
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

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function helm(args: string[]): Promise<CommandResult> {
  const tools = await ensureTools();
  return new Promise((resolve) => {
    execFile(tools.helm, args, { maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> } & Record<
    string,
    unknown
  >;
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are inspected field by field
  [field: string]: any;
}

/** helm's `--set key=value` arguments for `sets`. */
export const setArgs = (sets: Record<string, string | number | boolean> = {}): string[] =>
  Object.entries(sets).flatMap(([key, value]) => ['--set', `${key}=${value}`]);

/** `helm template` with `--set` overrides; throws with helm's message when it fails. */
export async function renderChart(
  sets: Record<string, string | number | boolean> = {},
  extraArgs: string[] = [],
): Promise<{ text: string; objects: KubeObject[] }> {
  const result = await helm([
    'template',
    RELEASE,
    CHART_DIR,
    '--namespace',
    NAMESPACE,
    ...setArgs(sets),
    ...extraArgs,
  ]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  const objects = yaml
    .loadAll(result.stdout)
    .filter((doc): doc is KubeObject => typeof doc === 'object' && doc !== null);
  return { text: result.stdout, objects };
}

export function only(objects: KubeObject[], kind: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0] as KubeObject;
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
