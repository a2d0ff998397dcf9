// The Grafana dashboard and the PrometheusRule only query metrics trustgate exports.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { controllerMetrics } from '../../operator/controllers/metrics.ts';
import { admissionMetrics } from '../../webhook/metrics.ts';
import { CHART_DIR, metricsIn, only, renderChart, TRUSTGATE_METRICS } from './support.ts';

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}

const known = Object.keys(TRUSTGATE_METRICS);

async function dashboardExprs(): Promise<{ title: string; expr: string }[]> {
  const text = await readFile(path.join(CHART_DIR, 'dashboards', 'trustgate.json'), 'utf8');
  const dashboard = JSON.parse(text) as { panels: Panel[] };
  const flat = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  return flat.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
}

describe('the metric list the chart is checked against', () => {
  it('is exactly what the webhook and the controllers register, with the same types', async () => {
    const registry = new Registry();
    admissionMetrics(registry);
    controllerMetrics(registry);
    const registered = Object.fromEntries(
      (await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]),
    );
    expect(registered).toEqual(TRUSTGATE_METRICS);
  });
});

describe('metricsIn', () => {
  it('reads histogram series back to their metric and keeps other names as they are', () => {
    expect(
      metricsIn(
        'histogram_quantile(0.99, sum by (le) (rate(trustgate_admission_duration_seconds_bucket[5m]))) / trustgate_leader_count',
      ),
    ).toEqual(['trustgate_admission_duration_seconds', 'trustgate_leader_count']);
  });
});

describe('the Grafana dashboard', () => {
  it('is valid JSON whose every query reads only exported metrics', async () => {
    const exprs = await dashboardExprs();
    expect(exprs.length).toBeGreaterThan(0);
    for (const { title, expr } of exprs) {
      const metrics = metricsIn(expr);
      expect({ title, metrics: metrics.length > 0 }).toEqual({ title, metrics: true });
      for (const metric of metrics)
        expect({ title, metric, known: known.includes(metric) }).toEqual({
          title,
          metric,
          known: true,
        });
    }
  });

  it('charts every exported metric', async () => {
    const used = new Set((await dashboardExprs()).flatMap(({ expr }) => metricsIn(expr)));
    expect([...used].sort()).toEqual([...known].sort());
  });

  it('reads histograms through their buckets, never as plain series', async () => {
    for (const { expr } of await dashboardExprs()) {
      for (const [name, type] of Object.entries(TRUSTGATE_METRICS)) {
        if (type === 'histogram' && expr.includes(name)) expect(expr).toContain(`${name}_bucket`);
      }
    }
  });
});

describe('the PrometheusRule', () => {
  it('alerts only on exported metrics', async () => {
    const { objects } = await renderChart({ 'prometheusRule.enabled': true });
    const rule = only(objects, 'PrometheusRule');
    const exprs: string[] = rule.spec.groups.flatMap((g: { rules: { expr: string }[] }) =>
      g.rules.map((r) => r.expr),
    );
    for (const expr of exprs) {
      expect(metricsIn(expr).length).toBeGreaterThan(0);
      for (const metric of metricsIn(expr)) expect(known).toContain(metric);
    }
  });
});
