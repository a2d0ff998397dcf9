// The ValidatingWebhookConfiguration trustgate writes (or, when the chart owns it, only
// patches caBundle into). Two webhooks: workloads (pods, bindings, token requests) and
// trustgate's own policies and grants. NodeAttestations are never matched: were they,
// a webhook outage would stop verifiers refreshing them and every node would go stale.
import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeClient } from '../operator/kube/rest.ts';
import { WEBHOOK_PATH } from './server.ts';

export const WORKLOADS_WEBHOOK = 'workloads.trustgate.dev';
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

/** The configuration object for the options (pure). */
export function webhookConfiguration(o: RegistrationOptions): Obj {
  const timeoutSeconds = Math.min(Math.max(o.timeoutSeconds ?? 3, 1), 3);
  const excluded = [...new Set(['kube-system', o.namespace, ...(o.excludedNamespaces ?? [])])];
  const common = {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    matchPolicy: 'Equivalent',
    failurePolicy: o.failurePolicy ?? 'Fail',
    timeoutSeconds,
    namespaceSelector: {
      matchExpressions: [
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: excluded },
      ],
    },
    clientConfig: clientConfig(o),
  };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: {
      name: o.name,
      labels: { 'app.kubernetes.io/name': 'trustgate', 'app.kubernetes.io/part-of': 'trustgate' },
    },
    webhooks: [
      {
        name: WORKLOADS_WEBHOOK,
        ...common,
        rules: [
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
        ],
      },
      {
        name: RESOURCES_WEBHOOK,
        ...common,
        rules: [
          {
            apiGroups: ['trustgate.dev'],
            apiVersions: ['v1alpha1'],
            operations: ['CREATE', 'UPDATE'],
            resources: ['endpointtrustpolicies', 'workloadgrants'],
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
      webhooks = (webhookConfiguration(o).webhooks as Webhook[]).map((w) => {
        if (o.caBundle) return w;
        // Keep a caBundle someone else (cert-manager's cainjector) put there.
        const kept = oldHooks.find((h) => h.name === w.name)?.clientConfig?.caBundle;
        return kept ? { ...w, clientConfig: { ...w.clientConfig, caBundle: kept } } : w;
      });
    } else {
      const caBundle = Buffer.from(o.caBundle ?? '', 'utf8').toString('base64');
      webhooks = oldHooks.map((h) => ({ ...h, clientConfig: { ...h.clientConfig, caBundle } }));
    }
    if (existing && JSON.stringify(oldHooks) === JSON.stringify(webhooks)) return false;
    const desired = webhookConfiguration(o);
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
                  labels: {
                    ...(metadata.labels as Obj),
                    ...(desired.metadata as { labels: Obj }).labels,
                  },
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
