// One trustgate process: informer caches on every replica, the admission webhook served
// from them, a metrics/health port, and the controllers on the replica that holds the Lease.
// stop() is the graceful shutdown SIGTERM triggers: not ready first, then the webhook
// drains, the lease is released (a peer takes over at once), and the caches stop.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pino, { type Logger } from 'pino';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { DEFAULT_ADMISSION_CONFIG } from '../../webhook/admit.ts';
import { webhookConfigurationController } from '../../webhook/configuration-controller.ts';
import { admissionCachesFrom } from '../../webhook/kube-caches.ts';
import { admissionMetrics } from '../../webhook/metrics.ts';
import type { WorkloadReach } from '../../webhook/reach.ts';
import { applyWebhookConfiguration, type RegistrationOptions } from '../../webhook/registration.ts';
import { startWebhookServer, type WebhookServer } from '../../webhook/server.ts';
import { CertDirSource } from '../../webhook/tls/cert-dir.ts';
import { SelfManagedCertificates, serviceHosts } from '../../webhook/tls/self-managed.ts';
import type { CertificateSource, ServingCertificate } from '../../webhook/tls/source.ts';
import { type Controllers, startControllers } from '../controllers/index.ts';
import { type Caches, createCaches } from '../kube/caches.ts';
import { loadClusterAccess } from '../kube/kubeconfig.ts';
import { LeaderElector } from '../kube/leader-election.ts';
import { buildInfo } from './build-info.ts';
import type { RunOptions } from './flags.ts';
import { type HealthServer, startHealthServer } from './health-server.ts';
import { batchedLogDestination } from './log-destination.ts';

export interface Runtime {
  readonly caches: Caches;
  readonly webhookPort: number;
  readonly metricsPort: number;
  readonly registry: Registry;
  /** Caches synced and a certificate loaded. */
  ready(): boolean;
  isLeader(): boolean;
  stop(): Promise<void>;
}

/**
 * JSON lines on stdout, written asynchronously in small batches: a synchronous write per
 * admission decision would cost every review a system call. Flushed on stop(). Each line
 * carries `"level":"info"` and an ISO-8601 UTC `"time"`, as log pipelines for Kubernetes
 * controllers expect, instead of pino's numeric level and epoch milliseconds.
 */
export function processLogger(
  level: string,
  destination: pino.DestinationStream = batchedLogDestination(1),
): Logger {
  // pino.stdTimeFunctions.isoTime formats a Date per line (+0.8 µs a decision line,
  // about 1 % of a review's CPU); the part up to the second is formatted once a second.
  let second = Number.NaN;
  let upToSecond = '';
  const isoTime = () => {
    const now = Date.now();
    const ms = now % 1000;
    if (now - ms !== second) {
      second = now - ms;
      upToSecond = `,"time":"${new Date(second).toISOString().slice(0, 20)}`;
    }
    return `${upToSecond}${String(ms).padStart(3, '0')}Z"`;
  };
  return pino(
    { level, formatters: { level: (label) => ({ level: label }) }, timestamp: isoTime },
    destination,
  );
}

/**
 * The audiences the API server gives tokens that ask for none: without --api-audiences
 * kube-apiserver uses its service-account issuer, which its discovery document names.
 */
async function discoverApiAudiences(caches: Caches, logger: Logger): Promise<string[]> {
  const audiences = [...DEFAULT_ADMISSION_CONFIG.apiAudiences];
  try {
    const doc = await caches.client.get<{ issuer?: string }>('/.well-known/openid-configuration');
    if (doc.issuer && !audiences.includes(doc.issuer)) audiences.push(doc.issuer);
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      'could not read the API server issuer; using the default audiences',
    );
  }
  return audiences;
}

/**
 * The owner reference of the webhook configuration: the ClusterRole named by
 * --webhook-owner-cluster-role, read when written (its uid changes if it is recreated).
 * Without it the configuration is written unowned, and says so.
 */
async function webhookOwner(
  caches: Caches,
  o: RunOptions,
  logger: Logger,
): Promise<RegistrationOptions['owner']> {
  const name = o.webhookOwnerClusterRole;
  if (!name) return undefined;
  try {
    const role = await caches.client.get<{ metadata: { uid: string } }>(
      `/apis/rbac.authorization.k8s.io/v1/clusterroles/${encodeURIComponent(name)}`,
    );
    return {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      name,
      uid: role.metadata.uid,
    };
  } catch (err) {
    logger.warn(
      { err: (err as Error).message, clusterRole: name },
      'cannot read the owner ClusterRole; the webhook configuration will not be removed on uninstall',
    );
    return undefined;
  }
}

/** Hosts the self-managed serving certificate must name. */
function certificateHosts(o: RunOptions): string[] {
  const extra = ['localhost', '127.0.0.1'];
  if (o.webhookUrl) extra.unshift(new URL(o.webhookUrl).hostname.replace(/^\[|\]$/g, ''));
  return serviceHosts(o.serviceName, o.namespace, extra);
}

export async function startRuntime(
  o: RunOptions,
  logger: Logger = processLogger(o.logLevel),
): Promise<Runtime> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // The usual *_build_info shape: constant 1, the build in its labels (join on them).
  new Gauge({
    name: 'trustgate_build_info',
    help: 'Always 1; labels: version, git commit and Node version of this trustgate process',
    labelNames: ['version', 'commit', 'node'],
    registers: [registry],
  }).set({ ...buildInfo() }, 1);
  const kubeConfig = await loadClusterAccess(o.kubeconfig);
  const caches = createCaches({
    kubeConfig,
    namespace: o.namespace,
    logger: logger.child({ part: 'caches' }),
  });
  caches.start();

  const cleanups: (() => Promise<void>)[] = [() => caches.stop()];
  const fail = async (err: unknown) => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    throw err;
  };

  let source: CertificateSource;
  let apiAudiences: string[];
  let webhook: WebhookServer;
  let health: HealthServer;
  try {
    source = o.certDir
      ? new CertDirSource({ dir: o.certDir, logger: logger.child({ part: 'tls' }) })
      : new SelfManagedCertificates({
          client: caches.client,
          namespace: o.namespace,
          secretName: o.tlsSecret,
          hosts: certificateHosts(o),
          rotation: o.certLifetimeMs ? { servingLifetimeMs: o.certLifetimeMs } : undefined,
          logger: logger.child({ part: 'tls' }),
        });
    const first = await source.start();
    cleanups.push(() => source.stop());
    apiAudiences = o.apiAudiences ?? (await discoverApiAudiences(caches, logger));
    webhook = await startWebhookServer({
      caches: admissionCachesFrom(caches),
      config: { apiAudiences },
      tls: first,
      port: o.webhookPort,
      host: o.bindAddress,
      logger: logger.child({ part: 'webhook' }),
      metrics: admissionMetrics(registry),
    });
    cleanups.push(() => webhook.close(0));
    health = await startHealthServer({
      port: o.metricsPort,
      host: o.bindAddress,
      registry,
      readiness: [
        { name: 'caches', ok: () => caches.healthy() },
        { name: 'certificate', ok: () => source.current() !== undefined },
      ],
      detail: () => caches.status(),
    });
    cleanups.push(() => health.close());
  } catch (err) {
    return fail(err);
  }

  // The webhook configuration: caBundle follows the certificate on every replica; the
  // whole configuration, whose reach follows the policies, is written by the leader (or by
  // the one process without election) once its caches know the policies.
  let reach: WorkloadReach[] | undefined;
  const registration = async (
    cert: ServingCertificate | undefined,
    mode: 'full' | 'caBundle',
  ): Promise<RegistrationOptions> => ({
    name: o.webhookConfigName,
    namespace: o.namespace,
    url: o.webhookUrl,
    service: o.webhookUrl
      ? undefined
      : { name: o.serviceName, namespace: o.namespace, port: o.servicePort },
    caBundle: cert?.caBundle,
    failurePolicy: o.failurePolicy,
    timeoutSeconds: o.timeoutSeconds,
    excludedNamespaces: o.excludedNamespaces,
    reach,
    owner: mode === 'full' ? await webhookOwner(caches, o, logger) : undefined,
  });
  const writeConfiguration = async (mode: 'full' | 'caBundle') => {
    const cert = source.current();
    if (mode === 'caBundle' && !cert?.caBundle) return;
    try {
      await applyWebhookConfiguration(caches.client, await registration(cert, mode), mode, logger);
    } catch (err) {
      logger.error(
        { err: (err as Error).message, mode },
        'could not write the webhook configuration',
      );
    }
  };
  const unsubscribe = source.onChange((cert) => {
    webhook.setCertificate(cert);
    logger.info('serving certificate reloaded');
    const full = o.manageWebhookConfiguration && isLeader() && reach !== undefined;
    void writeConfiguration(full ? 'full' : 'caBundle');
  });

  let controllers: Controllers | undefined;
  let elector: LeaderElector | undefined;
  const identity = `${process.env.POD_NAME ?? os.hostname()}_${randomBytes(4).toString('hex')}`;
  const lead = async (signal?: AbortSignal) => {
    const extra = o.manageWebhookConfiguration
      ? [
          webhookConfigurationController(caches, o.failurePolicy, async (next) => {
            reach = next;
            await writeConfiguration('full');
          }),
        ]
      : [];
    if (!o.manageWebhookConfiguration) await writeConfiguration('caBundle');
    if (!o.controllers && !extra.length) return;
    const c = await startControllers({
      kubeConfig,
      caches,
      logger: logger.child({ part: 'controllers' }),
      registry,
      namespace: o.namespace,
      identity,
      builtIn: o.controllers,
      extra,
      policyReports: o.policyReports,
      apiAudiences,
    });
    if (signal?.aborted) await c.stop();
    else controllers = c;
    signal?.addEventListener('abort', () => {
      void c.stop();
      if (controllers === c) controllers = undefined;
    });
  };
  const isLeader = () => (elector ? elector.isLeader() : true);
  if (o.leaderElect) {
    elector = new LeaderElector({
      client: caches.client,
      namespace: o.namespace,
      name: o.leaseName,
      identity,
      leaseDurationMs: o.leaseDurationMs,
      renewDeadlineMs: o.renewDeadlineMs,
      retryPeriodMs: o.retryPeriodMs,
      onStartedLeading: (signal) =>
        lead(signal).catch((err) =>
          logger.error({ err: (err as Error).message }, 'controllers did not start'),
        ),
      registry,
      logger: logger.child({ part: 'leader-election' }),
    });
    void elector.run();
  } else {
    void lead().catch((err) =>
      logger.error({ err: (err as Error).message }, 'controllers did not start'),
    );
  }
  if (!o.manageWebhookConfiguration || o.leaderElect) void writeConfiguration('caBundle');

  let stopping: Promise<void> | undefined;
  return {
    caches,
    webhookPort: webhook.port,
    metricsPort: health.port,
    registry,
    ready: () => caches.synced() && source.current() !== undefined,
    isLeader,
    stop() {
      stopping ??= (async () => {
        logger.info('shutting down');
        unsubscribe();
        await webhook.close(10_000);
        if (elector) await elector.release();
        else await controllers?.stop();
        await source.stop();
        await caches.stop();
        await health.close();
        logger.info('stopped');
        logger.flush();
      })();
      return stopping;
    },
  };
}
