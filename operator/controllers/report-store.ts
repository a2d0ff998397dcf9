// Where the report controllers write: PolicyReports and ClusterPolicyReports, each
// rewritten only when its content (results without timestamps) changed. What was last
// written is remembered as a fingerprint per report, seeded from one list at start, so a
// reconcile that changes nothing makes no request at all. The report CRDs are a community
// API that may be absent: then reporting is off, said once in the log and in the
// `Reporting` condition, and looked for again every minute; trustgate keeps running.
import type { Logger } from 'pino';
import { isConflict, isNotFound, KubeApiError, type KubeClient } from '../kube/rest.ts';
import { MANAGED_BY_LABEL, REPORT_SOURCE, reportFingerprint } from '../reports/build.ts';
import { type PolicyReportObject, REPORT_GROUP, REPORT_VERSION } from '../reports/types.ts';
import type { ConditionInput } from './conditions.ts';
import type { ControllerMetrics } from './metrics.ts';

export type ReportKind = 'PolicyReport' | 'ClusterPolicyReport';
const PLURAL: Record<ReportKind, string> = {
  PolicyReport: 'policyreports',
  ClusterPolicyReport: 'clusterpolicyreports',
};
const BASE = `/apis/${REPORT_GROUP}/${REPORT_VERSION}`;
/** How often to look for the CRDs (and permission) again while reporting is off. */
const PROBE_INTERVAL_MS = 60_000;
const MAX_CONFLICT_RETRIES = 8;

type State = 'starting' | 'available' | 'missing' | 'forbidden' | 'disabled';

const collection = (kind: ReportKind, namespace?: string) =>
  namespace
    ? `${BASE}/namespaces/${encodeURIComponent(namespace)}/${PLURAL[kind]}`
    : `${BASE}/${PLURAL[kind]}`;
const keyOf = (kind: ReportKind, namespace: string | undefined, name: string) =>
  `${kind}/${namespace ?? ''}/${name}`;

export class ReportStore {
  readonly #client: KubeClient;
  readonly #logger: Logger;
  readonly #metrics: ControllerMetrics;
  /** kind/namespace/name → fingerprint of what the cluster holds. */
  readonly #known = new Map<string, string>();
  readonly #listeners = new Set<() => void>();
  #state: State;
  #timer: NodeJS.Timeout | undefined;
  #probing: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: {
    client: KubeClient;
    logger: Logger;
    metrics: ControllerMetrics;
    enabled: boolean;
  }) {
    this.#client = opts.client;
    this.#logger = opts.logger;
    this.#metrics = opts.metrics;
    this.#state = opts.enabled ? 'starting' : 'disabled';
    this.#metrics.reportsEnabled.set(0);
  }

  /** Starts looking for the CRDs; listeners hear every change of availability. */
  start(): void {
    if (this.#state === 'disabled') {
      this.#logger.info('policy reports are disabled (--policy-reports=false)');
      this.#emit();
      return;
    }
    this.#probing = this.#probe();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Resolves once the first look is done: true when reports can be written. */
  async ready(): Promise<boolean> {
    await this.#probing;
    return this.#state === 'available';
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The `Reporting` condition every EndpointTrustPolicy carries. */
  condition(): ConditionInput | undefined {
    switch (this.#state) {
      case 'starting':
        return undefined;
      case 'available':
        return {
          type: 'Reporting',
          status: 'True',
          reason: 'PolicyReportsWritten',
          message: 'results in PolicyReports (kubectl get polr -A) and ClusterPolicyReports',
        };
      case 'missing':
        return {
          type: 'Reporting',
          status: 'False',
          reason: 'PolicyReportCRDMissing',
          message: `the ${REPORT_GROUP}/${REPORT_VERSION} PolicyReport CRDs are not installed (kubectl apply -f crds/)`,
        };
      case 'forbidden':
        return {
          type: 'Reporting',
          status: 'False',
          reason: 'PolicyReportForbidden',
          message: `trustgate may not list or write ${REPORT_GROUP} reports (see the chart's ClusterRole)`,
        };
      case 'disabled':
        return {
          type: 'Reporting',
          status: 'False',
          reason: 'Disabled',
          message: 'policy reports are turned off (--policy-reports=false)',
        };
    }
  }

  /** Names of the reports of this kind (in this namespace) that trustgate holds. */
  names(kind: ReportKind, namespace?: string): string[] {
    const prefix = keyOf(kind, namespace, '');
    return [...this.#known.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length));
  }

  /**
   * Makes the report what `build` says (undefined: no report). `build` gets the report in
   * the cluster, if any, to carry the timestamps of results that did not change. Returns
   * whether anything was written.
   */
  async apply(
    kind: ReportKind,
    namespace: string | undefined,
    name: string,
    build: (previous: PolicyReportObject | undefined) => PolicyReportObject | undefined,
  ): Promise<boolean> {
    if (this.#state !== 'available') return false;
    const key = keyOf(kind, namespace, name);
    const wanted = build(undefined);
    const fingerprint = wanted && reportFingerprint(wanted);
    if (this.#known.get(key) === fingerprint) return false;
    const path = `${collection(kind, namespace)}/${encodeURIComponent(name)}`;
    try {
      if (!wanted) {
        await this.#client.delete(path).catch((err) => {
          if (!isNotFound(err)) throw err;
        });
        this.#known.delete(key);
        this.#metrics.reportWrites.inc({ kind, operation: 'delete' });
        return true;
      }
      const fp = reportFingerprint(wanted);
      for (let attempt = 0; ; attempt++) {
        const current = await this.#client.getIfExists<PolicyReportObject>(path);
        if (current && reportFingerprint(current) === fp) {
          this.#known.set(key, fp);
          return false;
        }
        const next = build(current) as PolicyReportObject;
        try {
          if (current) {
            next.metadata.resourceVersion = current.metadata.resourceVersion;
            await this.#client.replace(path, next);
          } else {
            await this.#client.create(collection(kind, namespace), next);
          }
          this.#known.set(key, fp);
          this.#metrics.reportWrites.inc({ kind, operation: current ? 'update' : 'create' });
          return true;
        } catch (err) {
          // 409: someone wrote in between (update) or created it first (create).
          if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
        }
      }
    } catch (err) {
      // A namespace being deleted refuses new objects (403); its reports go with it.
      if (err instanceof KubeApiError && /being terminated/.test(err.message)) return false;
      if (this.#lostApi(err)) return false;
      throw err;
    }
  }

  /** A 404 on the collection or a 403: the CRDs went away or permission did; look again later. */
  #lostApi(err: unknown): boolean {
    if (!(err instanceof KubeApiError)) return false;
    if (err.statusCode !== 403 && !(err.statusCode === 404 && err.reason !== 'NotFound')) {
      return false;
    }
    this.#set(err.statusCode === 403 ? 'forbidden' : 'missing', err.message);
    this.#schedule();
    return true;
  }

  /**
   * Lists trustgate's reports of both kinds: a 404 means the CRDs are not served. (Not
   * discovery: kube-apiserver serves a new CRD before its discovery document lists it.)
   */
  async #probe(): Promise<void> {
    try {
      this.#known.clear();
      for (const kind of ['PolicyReport', 'ClusterPolicyReport'] as const) await this.#seed(kind);
      this.#set('available');
    } catch (err) {
      const status = err instanceof KubeApiError ? err.statusCode : 0;
      this.#set(
        status === 403 ? 'forbidden' : status === 404 ? 'missing' : this.#state,
        (err as Error).message,
      );
      this.#schedule();
    }
  }

  /** One paged list of trustgate's reports: their fingerprints, then the bodies are dropped. */
  async #seed(kind: ReportKind): Promise<void> {
    let cont: string | undefined;
    do {
      const page = await this.#client.get<{
        items: PolicyReportObject[];
        metadata: { continue?: string };
      }>(collection(kind), {
        labelSelector: `${MANAGED_BY_LABEL}=${REPORT_SOURCE}`,
        limit: 500,
        continue: cont,
      });
      for (const r of page.items) {
        this.#known.set(
          keyOf(kind, r.metadata.namespace, r.metadata.name),
          reportFingerprint({ ...r, kind }),
        );
      }
      cont = page.metadata.continue || undefined;
    } while (cont);
  }

  #schedule(): void {
    if (this.#stopped || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#probing = this.#probe();
    }, PROBE_INTERVAL_MS);
    this.#timer.unref?.();
  }

  #set(state: State, detail?: string): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#metrics.reportsEnabled.set(state === 'available' ? 1 : 0);
    const condition = this.condition();
    if (state === 'available') this.#logger.info('policy reports enabled');
    else
      this.#logger.warn(
        { reason: condition?.reason, detail },
        `policy reports disabled: ${condition?.message}; trustgate runs on and looks again every minute`,
      );
    this.#emit();
  }

  #emit(): void {
    for (const l of this.#listeners) l();
  }
}
