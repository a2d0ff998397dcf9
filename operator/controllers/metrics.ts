// Controller metrics (see DESIGN.md, Observability). One set per registry.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { kubeMetrics, metric } from '../kube/metrics.ts';

export function controllerMetrics(registry: Registry) {
  return {
    ...kubeMetrics(registry),
    nodes: metric(
      registry,
      'trustgate_nodes',
      () =>
        new Gauge({
          name: 'trustgate_nodes',
          help: 'Nodes in each policy pool by trust (trusted/untrusted).',
          labelNames: ['policy', 'trust'],
          registers: [registry],
        }),
    ),
    attestations: metric(
      registry,
      'trustgate_attestations_total',
      () =>
        new Counter({
          name: 'trustgate_attestations_total',
          help: 'Attestation evaluations written to status, by result (trusted/untrusted/unverified).',
          labelNames: ['result'],
          registers: [registry],
        }),
    ),
    revocations: metric(
      registry,
      'trustgate_revocations_total',
      () =>
        new Counter({
          name: 'trustgate_revocations_total',
          help: 'Revocation actions carried out (or reported, in Audit mode), by action.',
          labelNames: ['action'],
          registers: [registry],
        }),
    ),
    driftToRevocation: metric(
      registry,
      'trustgate_drift_to_revocation_seconds',
      () =>
        new Histogram({
          name: 'trustgate_drift_to_revocation_seconds',
          help: 'From the moment trust was lost (after any grace period) to the last revocation action.',
          buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
          registers: [registry],
        }),
    ),
    reconcileDuration: metric(
      registry,
      'trustgate_reconcile_duration_seconds',
      () =>
        new Histogram({
          name: 'trustgate_reconcile_duration_seconds',
          help: 'Time per reconcile, by controller.',
          labelNames: ['controller'],
          buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
          registers: [registry],
        }),
    ),
    reportWrites: metric(
      registry,
      'trustgate_policy_report_writes_total',
      () =>
        new Counter({
          name: 'trustgate_policy_report_writes_total',
          help: 'PolicyReport and ClusterPolicyReport writes, by kind and operation (create/update/delete).',
          labelNames: ['kind', 'operation'],
          registers: [registry],
        }),
    ),
    reportsEnabled: metric(
      registry,
      'trustgate_policy_reports_enabled',
      () =>
        new Gauge({
          name: 'trustgate_policy_reports_enabled',
          help: '1 while the leader keeps PolicyReports (the wgpolicyk8s.io CRDs are served and writable).',
          registers: [registry],
        }),
    ),
  };
}

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;
