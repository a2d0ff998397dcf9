// The wgpolicyk8s.io/v1alpha2 PolicyReport API (the Kubernetes Policy WG's report format,
// read by `kubectl get polr`, Policy Reporter and Kyverno's tooling), as far as trustgate
// writes it. The CRDs are crds/*.wgpolicyk8s.io.yaml.

export const REPORT_GROUP = 'wgpolicyk8s.io';
export const REPORT_VERSION = 'v1alpha2';
export const REPORT_API_VERSION = `${REPORT_GROUP}/${REPORT_VERSION}`;

export type ReportResultValue = 'pass' | 'fail' | 'warn' | 'error' | 'skip';
export type ReportSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
}

export interface ReportResult {
  source: string;
  policy: string;
  rule: string;
  category: string;
  severity: ReportSeverity;
  result: ReportResultValue;
  scored: boolean;
  message: string;
  /** When this result (with this outcome and message) was first seen. */
  timestamp: { seconds: number; nanos: number };
  resources: ObjectReference[];
  properties: Record<string, string>;
}

export type ReportSummary = Record<ReportResultValue, number>;

export interface PolicyReportObject {
  apiVersion: typeof REPORT_API_VERSION;
  kind: 'PolicyReport' | 'ClusterPolicyReport';
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: (ObjectReference & { controller?: boolean })[];
  };
  scope?: ObjectReference;
  summary: ReportSummary;
  results: ReportResult[];
}
