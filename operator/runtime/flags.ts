// The flags of `trustgate run`, parsed into options (pure; errors are UsageErrors). The
// names follow the Helm chart's Deployment; the shorter leader-election spellings
// (--lease-duration, --renew-deadline, --retry-period) are accepted too.
import { parseArgs } from 'node:util';
import { UsageError } from '../cli/io.ts';
import { parseDuration } from '../trust/index.ts';

export interface RunOptions {
  kubeconfig?: string;
  namespace: string;
  webhookPort: number;
  metricsPort: number;
  /** Address both servers bind. */
  bindAddress: string;
  serviceName: string;
  /** Port of the Service in front of the webhook (clientConfig.service.port). */
  servicePort: number;
  webhookConfigName: string;
  manageWebhookConfiguration: boolean;
  failurePolicy: 'Fail' | 'Ignore';
  timeoutSeconds: number;
  excludedNamespaces: string[];
  /**
   * A ClusterRole whose deletion removes the webhook configuration (kube's garbage
   * collector): the chart's, so uninstalling leaves no webhook pointing nowhere.
   */
  webhookOwnerClusterRole?: string;
  webhookUrl?: string;
  certDir?: string;
  tlsSecret: string;
  /** Serving certificate lifetime for self-managed TLS (tests force a short one). */
  certLifetimeMs?: number;
  leaderElect: boolean;
  /** Run the controllers (on the leader); false serves only the webhook. */
  controllers: boolean;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  logLevel: string;
  /** The API server's default token audiences; discovered from its issuer when not given. */
  apiAudiences?: string[];
  /** The leader keeps wgpolicyk8s.io PolicyReports (when their CRDs are installed). */
  policyReports: boolean;
}

export const RUN_USAGE = `Usage: trustgate run [flags]

Runs trustgate: the admission webhook on every replica, the controllers on the elected leader.

  --kubeconfig FILE                 kubeconfig (default: in-cluster, else $KUBECONFIG/~/.kube/config)
  --namespace NS                    trustgate's namespace (default trustgate-system)
  --webhook-port N                  HTTPS admission port (default 9443)
  --metrics-port N                  /metrics, /healthz, /readyz (default 8080)
  --bind-address ADDR               address to listen on (default 0.0.0.0)
  --service-name NAME               Service in front of the webhook (default trustgate)
  --service-port N                  that Service's webhook port (default 443)
  --webhook-config-name NAME        ValidatingWebhookConfiguration (default trustgate-<namespace>)
  --manage-webhook-configuration B  write the whole configuration (default true; false: only patch caBundle)
  --webhook-url URL                 register clientConfig.url instead of the Service (laptop, sandbox)
  --failure-policy Fail|Ignore      webhook failurePolicy (default Fail)
  --timeout-seconds N               webhook timeoutSeconds, 1-3 (default 3)
  --exclude-namespace NS            another namespace the webhook never sees (repeatable)
  --webhook-owner-cluster-role NAME the webhook configuration is owned by this ClusterRole and
                                    garbage-collected with it (the chart's: uninstall cleans up)
  --cert-dir DIR                    serve tls.crt/tls.key from DIR (cert-manager); reloaded on change
  --tls-secret NAME                 Secret for self-managed TLS (default <service-name>-webhook-tls)
  --cert-lifetime DURATION          self-managed serving certificate lifetime (default 2160h)
  --controllers B                   run the controllers on the leader (default true; false: webhook only)
  --policy-reports B                keep wgpolicyk8s.io PolicyReports and ClusterPolicyReports
                                    (default true; off by itself while their CRDs are absent)
  --leader-elect B                  elect a leader to run the controllers (default true)
  --lease-name NAME                 Lease (default <service-name>-leader)
  --leader-elect-lease-duration D   (alias --lease-duration; default 15s)
  --leader-elect-renew-deadline D   (alias --renew-deadline; default 10s)
  --leader-elect-retry-period D     (alias --retry-period; default 2s)
  --api-audiences A,B               the API server's --api-audiences (default: its service-account
                                    issuer, https://kubernetes.default.svc[.cluster.local])
  --log-level LEVEL                 pino level (default info)`;

const OPTIONS = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  'webhook-port': { type: 'string' },
  'metrics-port': { type: 'string' },
  'bind-address': { type: 'string' },
  'service-name': { type: 'string' },
  'service-port': { type: 'string' },
  'webhook-config-name': { type: 'string' },
  'manage-webhook-configuration': { type: 'string' },
  'webhook-url': { type: 'string' },
  'failure-policy': { type: 'string' },
  'timeout-seconds': { type: 'string' },
  'exclude-namespace': { type: 'string', multiple: true },
  'webhook-owner-cluster-role': { type: 'string' },
  'cert-dir': { type: 'string' },
  'tls-secret': { type: 'string' },
  'cert-lifetime': { type: 'string' },
  'leader-elect': { type: 'string' },
  controllers: { type: 'string' },
  'policy-reports': { type: 'string' },
  'lease-name': { type: 'string' },
  'leader-elect-lease-duration': { type: 'string' },
  'leader-elect-renew-deadline': { type: 'string' },
  'leader-elect-retry-period': { type: 'string' },
  'lease-duration': { type: 'string' },
  'renew-deadline': { type: 'string' },
  'retry-period': { type: 'string' },
  'log-level': { type: 'string' },
  'api-audiences': { type: 'string' },
} as const;

function port(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--${flag}: "${value}" is not a port`);
  return n;
}

function bool(flag: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true' || value === '') return true;
  if (value === 'false') return false;
  throw new UsageError(`--${flag}: "${value}" is not true or false`);
}

function duration(flag: string, value: string | undefined, fallback: string): number {
  const ms = parseDuration(value ?? fallback);
  if (ms === undefined || ms <= 0)
    throw new UsageError(`--${flag}: "${value}" is not a duration such as 15s`);
  return ms;
}

/** `--flag` with no value means true for the boolean flags (`--leader-elect`). */
function normalise(args: string[]): string[] {
  const booleans = new Set([
    '--leader-elect',
    '--manage-webhook-configuration',
    '--controllers',
    '--policy-reports',
  ]);
  return args.flatMap((a, i) => {
    if (!booleans.has(a)) return [a];
    const next = args[i + 1];
    return next === 'true' || next === 'false' ? [a] : [`${a}=true`];
  });
}

export function parseRunFlags(args: string[], env: NodeJS.ProcessEnv = process.env): RunOptions {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: normalise(args),
      options: OPTIONS,
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const s = (k: string) => values[k] as string | undefined;
  const namespace = s('namespace') ?? env.POD_NAMESPACE ?? 'trustgate-system';
  const serviceName = s('service-name') ?? 'trustgate';
  const failurePolicy = s('failure-policy') ?? 'Fail';
  if (failurePolicy !== 'Fail' && failurePolicy !== 'Ignore') {
    throw new UsageError(`--failure-policy: "${failurePolicy}" is not Fail or Ignore`);
  }
  const timeoutSeconds = Number(s('timeout-seconds') ?? 3);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3) {
    throw new UsageError('--timeout-seconds: must be 1, 2 or 3 (trustgate answers from memory)');
  }
  const webhookUrl = s('webhook-url');
  if (webhookUrl !== undefined) {
    let u: URL;
    try {
      u = new URL(webhookUrl);
    } catch {
      throw new UsageError(`--webhook-url: "${webhookUrl}" is not a URL`);
    }
    if (u.protocol !== 'https:')
      throw new UsageError('--webhook-url: the API server calls webhooks over https');
  }
  const certLifetime = s('cert-lifetime');
  return {
    kubeconfig: s('kubeconfig'),
    namespace,
    webhookPort: port('webhook-port', s('webhook-port'), 9443),
    metricsPort: port('metrics-port', s('metrics-port'), 8080),
    bindAddress: s('bind-address') ?? '0.0.0.0',
    serviceName,
    servicePort: port('service-port', s('service-port'), 443),
    webhookConfigName: s('webhook-config-name') ?? `trustgate-${namespace}`,
    manageWebhookConfiguration: bool(
      'manage-webhook-configuration',
      s('manage-webhook-configuration'),
      true,
    ),
    failurePolicy,
    timeoutSeconds,
    excludedNamespaces: (values['exclude-namespace'] as string[] | undefined) ?? [],
    webhookOwnerClusterRole: s('webhook-owner-cluster-role'),
    webhookUrl,
    certDir: s('cert-dir'),
    tlsSecret: s('tls-secret') ?? `${serviceName}-webhook-tls`,
    certLifetimeMs:
      certLifetime === undefined ? undefined : duration('cert-lifetime', certLifetime, '2160h'),
    leaderElect: bool('leader-elect', s('leader-elect'), true),
    controllers: bool('controllers', s('controllers'), true),
    policyReports: bool('policy-reports', s('policy-reports'), true),
    leaseName: s('lease-name') ?? `${serviceName}-leader`,
    leaseDurationMs: duration(
      'lease-duration',
      s('leader-elect-lease-duration') ?? s('lease-duration'),
      '15s',
    ),
    renewDeadlineMs: duration(
      'renew-deadline',
      s('leader-elect-renew-deadline') ?? s('renew-deadline'),
      '10s',
    ),
    retryPeriodMs: duration(
      'retry-period',
      s('leader-elect-retry-period') ?? s('retry-period'),
      '2s',
    ),
    logLevel: s('log-level') ?? 'info',
    apiAudiences: s('api-audiences')
      ?.split(',')
      .map((a) => a.trim())
      .filter(Boolean),
  };
}
