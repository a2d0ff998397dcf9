// The ValidatingWebhookConfiguration trustgate writes (or, when the chart owns it, only
// patches caBundle into). Workloads webhooks (pods, bindings, token requests), one per
// group of policies that select the same namespaces (reach.ts), and one for trustgate's
// own policies and grants. NodeAttestations are never matched: were they, a webhook
// outage would stop verifiers refreshing them and every node would go stale.
import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeClient } from '../operator/kube/rest.ts';
import { WORKLOADS_WEBHOOK_SUFFIX, type WorkloadReach } from './reach.ts';
import { WEBHOOK_PATH } from './server.ts';

export const WORKLOADS_WEBHOOK = WORKLOADS_WEBHOOK_SUFFIX;
export const RESOURCES_WEBHOOK = 'resources.trustgate.dev';
const CONFIG_PATH = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';

export interface RegistrationOptions {
  /** metadata.name of the ValidatingWebhookConfiguration. */
  name: string;
  /** trustgate's namespace (always excluded, with kube-system). */
  namespace: string;
  /** clientConfig.service, unless url is set. */
  service?: { name: string; namespace: string; port: number; path?: string };
  /** clientConfig.url (--webhook-url): for a process outside the cluster. */
  url?: string;
  /** PEM; undefined keeps whatever caBundle the configuration already has (cert-manager). */
  caBundle?: string;
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
  excludedNamespaces?: string[];
  /**
   * The workloads webhooks the policies call for (reach.ts); undefined: one webhook over
   * every namespace, as the chart renders when it owns the configuration.
   */
  reach?: WorkloadReach[];
  /**
   * A cluster-scoped object whose deletion removes the configuration (kube's garbage
   * collector): the chart's ClusterRole, so an uninstall leaves no webhook behind.
   */
  owner?: { apiVersion: string; kind: string; name: string; uid: string };
}

type Obj = Record<string, unknown>;

function clientConfig(o: RegistrationOptions): Obj {
  const cfg: Obj = {};
  if (o.url) {
    const u = new URL(o.url);
    if (u.pathname === '/' || u.pathname === '') u.pathname = WEBHOOK_PATH;
    cfg.url = u.toString();
  } else if (o.service) {
    cfg.service = { ...o.service, path: o.service.path ?? WEBHOOK_PATH };
  } else {
    throw new Error('webhook registration needs a service or a url');
  }
  if (o.caBundle) cfg.caBundle = Buffer.from(o.caBundle, 'utf8').toString('base64');
  return cfg;
}

const WORKLOAD_RULES = [
  {
    apiGroups: [''],
    apiVersions: ['v1'],
    operations: ['CREATE'],
    resources: ['pods', 'pods/binding', 'bindings', 'serviceaccounts/token'],
    scope: 'Namespaced',
  },
  {
    apiGroups: [''],
    apiVersions: ['v1'],
    operations: ['UPDATE'],
    resources: ['pods/ephemeralcontainers'],
    scope: 'Namespaced',
  },
];

/** The configuration object for the options (pure). */
export function webhookConfiguration(o: RegistrationOptions): Obj {
  const timeoutSeconds = Math.min(Math.max(o.timeoutSeconds ?? 3, 1), 3);
  const excluded = [...new Set(['kube-system', o.namespace, ...(o.excludedNamespaces ?? [])])];
  const exclusion = { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded };
  const failurePolicy = o.failurePolicy ?? 'Fail';
  const common = {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    matchPolicy: 'Equivalent',
    failurePolicy,
    timeoutSeconds,
    namespaceSelector: { matchExpressions: [exclusion] },
    clientConfig: clientConfig(o),
  };
  const reach = o.reach ?? [
    { name: WORKLOADS_WEBHOOK, namespaceSelector: {}, failurePolicy, policies: [] },
  ];
  const workloads = reach.map((r) => ({
    name: r.name,
    ...common,
    failurePolicy: r.failurePolicy,
    // The policies' selector and the exclusions: a label selector's terms all must hold.
    namespaceSelector: {
      ...(r.namespaceSelector.matchLabels ? { matchLabels: r.namespaceSelector.matchLabels } : {}),
      matchExpressions: [...(r.namespaceSelector.matchExpressions ?? []), exclusion],
    },
    ...(r.matchCondition
      ? { matchConditions: [{ name: 'governed-pods', expression: r.matchCondition }] }
      : {}),
    rules: WORKLOAD_RULES,
  }));
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: o.name,
      labels: { 'app.kubernetes.io/name': 'trustgate', 'app.kubernetes.io/part-of': 'trustgate' },
      ...(o.owner ? { ownerReferences: [{ ...o.owner }] } : {}),
    },
    webhooks: [
      ...workloads,
      {
        name: RESOURCES_WEBHOOK,
        ...common,
        // Semantic checks on top of the CRD schema: no policy governs trustgate's own
        // resources, so an outage must not hold back a GitOps sync of them. What slips
        // through unchecked is reported by the controllers as Ready=False.
        failurePolicy: 'Ignore',
        rules: [
          {
            apiGroups: ['trustgate.dev'],
            apiVersions: ['v1alpha1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['endpointtrustpolicies', 'workloadgrants', 'trustexemptions'],
            scope: '*',
          },
        ],
      },
    ],
  };
}

type Webhook = Obj & { name?: string; clientConfig?: Obj };

/**
 * Writes the configuration: the whole of it (`mode: 'full'`) or only caBundle into an
 * existing one that the chart owns (`mode: 'caBundle'`). Get + update with the read
 * resourceVersion; a conflict re-reads. Returns whether anything was written.
 */
export async function applyWebhookConfiguration(
  client: KubeClient,
  o: RegistrationOptions,
  mode: 'full' | 'caBundle' = 'full',
  logger?: Logger,
): Promise<boolean> {
  const path = `${CONFIG_PATH}/${encodeURIComponent(o.name)}`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let existing: Obj | undefined;
    try {
      existing = await client.get(path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!existing && mode === 'caBundle') {
      logger?.warn({ name: o.name }, 'webhook configuration not found; caBundle not patched');
      return false;
    }
    const oldHooks = (existing?.webhooks as Webhook[] | undefined) ?? [];
    let webhooks: Webhook[];
    if (mode === 'full') {
      // Without our own caBundle, keep the one someone else (cert-manager's cainjector)
      // put there; a webhook new to the configuration gets it from its siblings.
      const injected = oldHooks.find((h) => h.clientConfig?.caBundle)?.clientConfig?.caBundle;
      webhooks = (webhookConfiguration(o).webhooks as Webhook[]).map((w) => {
        if (o.caBundle) return w;
        const kept = oldHooks.find((h) => h.name === w.name)?.clientConfig?.caBundle ?? injected;
        return kept ? { ...w, clientConfig: { ...w.clientConfig, caBundle: kept } } : w;
      });
    } else {
      const caBundle = Buffer.from(o.caBundle ?? '', 'utf8').toString('base64');
      webhooks = oldHooks.map((h) => ({ ...h, clientConfig: { ...h.clientConfig, caBundle } }));
    }
    const desired = webhookConfiguration(o);
    const desiredMeta = desired.metadata as Obj;
    const owners = (m: Obj | undefined) => JSON.stringify(m?.ownerReferences ?? []);
    const sameOwners =
      mode === 'caBundle' || owners(existing?.metadata as Obj) === owners(desiredMeta);
    if (existing && sameOwners && JSON.stringify(oldHooks) === JSON.stringify(webhooks)) {
      return false;
    }
    try {
      if (!existing) {
        await client.create(CONFIG_PATH, { ...desired, webhooks });
      } else {
        const metadata = existing.metadata as Obj;
        await client.replace(path, {
          ...existing,
          metadata:
            mode === 'full'
              ? {
                  ...metadata,
                  labels: { ...(metadata.labels as Obj), ...(desiredMeta.labels as Obj) },
                  ownerReferences: desiredMeta.ownerReferences,
                }
              : metadata,
          webhooks,
        });
      }
      logger?.info({ name: o.name, mode }, 'webhook configuration written');
      return true;
    } catch (err) {
      if (isConflict(err)) continue;
      throw err;
    }
  }
  throw new Error(`ValidatingWebhookConfiguration ${o.name} kept changing under us`);
}
