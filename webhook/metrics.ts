// Admission metrics on the registry the process exposes (never prom-client's global one).
import { Counter, Histogram, type Registry } from 'prom-client';
import { metric } from '../operator/kube/metrics.ts';

/** Sub-millisecond decisions up to the API server's 3 s timeout. */
export const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3,
];

export interface AdmissionMetrics {
  requests: Counter<'resource' | 'operation' | 'verdict' | 'policy'>;
  duration: Histogram<'resource'>;
  errors: Counter<'reason'>;
  exempted: Counter<'policy' | 'exemption'>;
}

export function admissionMetrics(registry: Registry): AdmissionMetrics {
  return {
    requests: metric(
      registry,
      'trustgate_admission_requests_total',
      () =>
        new Counter({
          name: 'trustgate_admission_requests_total',
          help: 'Admission reviews answered, by resource, operation, verdict (allowed, warned, exempted, denied) and deciding policy.',
          labelNames: ['resource', 'operation', 'verdict', 'policy'],
          registers: [registry],
        }),
    ),
    duration: metric(
      registry,
      'trustgate_admission_duration_seconds',
      () =>
        new Histogram({
          name: 'trustgate_admission_duration_seconds',
          help: 'Time from the request body being read to the response being written.',
          labelNames: ['resource'],
          buckets: DURATION_BUCKETS,
          registers: [registry],
        }),
    ),
    errors: metric(
      registry,
      'trustgate_admission_errors_total',
      () =>
        new Counter({
          name: 'trustgate_admission_errors_total',
          help: 'Admission requests that could not be decided: malformed or oversized bodies, handler failures.',
          labelNames: ['reason'],
          registers: [registry],
        }),
    ),
    // Bounded: exemptions are few and expire within 7 days.
    exempted: metric(
      registry,
      'trustgate_admission_exempted_total',
      () =>
        new Counter({
          name: 'trustgate_admission_exempted_total',
          help: 'Admissions let through because an exemption lifted a policy, by policy and exemption (namespace/name, or policy/name for spec.exemptions).',
          labelNames: ['policy', 'exemption'],
          registers: [registry],
        }),
    ),
  };
}
