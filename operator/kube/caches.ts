// The informer-backed caches every replica keeps: the webhook decides from them without
// an API call per request, and the leader's controllers read them. A TrustIndex (the
// per-(node, policy) decision table from operator/trust) is fed from the same informers.

import type { Logger } from 'pino';
import { GROUP, VERSION } from '../api/crds.ts';
import type {
  EndpointTrustPolicy,
  NodeAttestation,
  TrustExemption,
  WorkloadGrant,
} from '../api/types.generated.ts';
import { type ExemptionSource, scopedSource, TrustIndex } from '../trust/index.ts';
import { Informer, type InformerOptions, type KubeObjectLike } from './informer.ts';
import { JwksSecretWatches, jwksSecretRefs } from './jwks-secrets.ts';
import type { ClusterAccess } from './kubeconfig.ts';
import { KubeClient, resourcePath } from './rest.ts';
import {
  LEGACY_TOKEN_TYPE,
  type NamespaceLite,
  type NodeLite,
  type PodLite,
  type TokenSecretLite,
  trimNamespace,
  trimNode,
  trimPod,
  trimTokenSecret,
} from './trim.ts';

export interface CachesOptions {
  kubeConfig: ClusterAccess;
  /** trustgate's own namespace: JWKS Secrets without a namespace live here. */
  namespace: string;
  logger?: Logger;
  /** Overrides for every informer (tests shorten the inactivity timeout). */
  informer?: Pick<
    InformerOptions<KubeObjectLike>,
    'inactivityTimeoutMs' | 'watchTimeoutSeconds' | 'pageSize' | 'backoff'
  >;
}

export interface CacheStatus {
  name: string;
  synced: boolean;
  healthy: boolean;
  objects: number;
  lastEventAgeMs: number;
}

const crd = (plural: string) => resourcePath({ group: GROUP, version: VERSION, plural });
export const saKey = (namespace: string, serviceAccount: string) =>
  `${namespace}/${serviceAccount}`;

export class Caches {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly trust: TrustIndex;
  readonly policies: Informer<EndpointTrustPolicy>;
  /** Indexed by "sa" (namespace/serviceAccount) and "policy". */
  readonly grants: Informer<WorkloadGrant>;
  readonly namespaces: Informer<NamespaceLite>;
  readonly nodes: Informer<NodeLite>;
  readonly attestations: Informer<NodeAttestation>;
  /** Trimmed; indexed by "node", "sa" (namespace/serviceAccount) and "namespace". */
  readonly pods: Informer<PodLite>;
  /** Legacy service-account token Secrets, without data; indexed by "sa". */
  readonly tokenSecrets: Informer<TokenSecretLite>;
  /** Exactly the Secrets that policies name in jwksSecretRef, each in its namespace. */
  readonly jwks: JwksSecretWatches;
  /** Break-glass TrustExemptions; indexed by "namespace". */
  readonly exemptions: Informer<TrustExemption>;
  /** The exemptions as the decision reads them (trustgate's namespace reaches every namespace). */
  readonly exemptionSource: ExemptionSource;
  readonly #all: Informer<KubeObjectLike>[];

  constructor(opts: CachesOptions) {
    this.client = new KubeClient(opts.kubeConfig);
    this.namespace = opts.namespace;
    this.trust = new TrustIndex({ defaultSecretNamespace: opts.namespace });
    const common = { client: this.client, logger: opts.logger, ...opts.informer };
    this.policies = new Informer<EndpointTrustPolicy>({
      ...common,
      name: 'endpointtrustpolicies',
      path: crd('endpointtrustpolicies'),
    });
    this.grants = new Informer<WorkloadGrant>({
      ...common,
      name: 'workloadgrants',
      path: crd('workloadgrants'),
      indexes: {
        sa: (g) => [saKey(g.metadata.namespace ?? '', g.spec?.serviceAccountName ?? '')],
        policy: (g) => [g.spec?.policyRef?.name ?? ''],
      },
    });
    this.namespaces = new Informer<NamespaceLite>({
      ...common,
      name: 'namespaces',
      path: '/api/v1/namespaces',
      transform: trimNamespace,
    });
    this.nodes = new Informer<NodeLite>({
      ...common,
      name: 'nodes',
      path: '/api/v1/nodes',
      transform: trimNode,
    });
    this.attestations = new Informer<NodeAttestation>({
      ...common,
      name: 'nodeattestations',
      path: crd('nodeattestations'),
      // The token is all the trust decision reads; drop managedFields and the like.
      transform: (raw) => {
        const a = raw as unknown as NodeAttestation;
        const { managedFields: _drop, ...metadata } = a.metadata ?? {};
        return { ...a, metadata };
      },
    });
    this.pods = new Informer<PodLite>({
      ...common,
      name: 'pods',
      path: '/api/v1/pods',
      transform: trimPod,
      indexes: {
        node: (p) => (p.spec.nodeName ? [p.spec.nodeName] : []),
        sa: (p) => [saKey(p.metadata.namespace, p.spec.serviceAccountName)],
        namespace: (p) => [p.metadata.namespace],
      },
    });
    this.tokenSecrets = new Informer<TokenSecretLite>({
      ...common,
      name: 'legacy-token-secrets',
      path: '/api/v1/secrets',
      // Selected by the server: no other Secret's data ever reaches this process.
      fieldSelector: `type=${LEGACY_TOKEN_TYPE}`,
      transform: trimTokenSecret,
      indexes: { sa: (s) => [saKey(s.metadata.namespace, s.serviceAccountName)] },
    });
    this.jwks = new JwksSecretWatches({
      client: this.client,
      logger: opts.logger,
      informer: opts.informer,
      sink: {
        upsert: (ns, name, data) => this.trust.upsertJwksSecret(ns, name, data),
        delete: (ns, name) => this.trust.deleteJwksSecret(ns, name),
        pending: (ns, name, pending) => this.trust.setJwksSecretPending(ns, name, pending),
      },
    });
    this.exemptions = new Informer<TrustExemption>({
      ...common,
      name: 'trustexemptions',
      path: crd('trustexemptions'),
      indexes: { namespace: (e) => [e.metadata.namespace ?? ''] },
    });
    this.exemptionSource = scopedSource(
      (ns) => this.exemptions.byIndex('namespace', ns),
      opts.namespace,
    );
    this.#all = [
      this.policies,
      this.grants,
      this.namespaces,
      this.nodes,
      this.attestations,
      this.pods,
      this.tokenSecrets,
      this.exemptions,
    ] as Informer<KubeObjectLike>[];
    this.#feedTrustIndex();
  }

  #feedTrustIndex(): void {
    const t = this.trust;
    this.policies.on({
      add: (p) => t.upsertPolicy(p),
      update: (p) => t.upsertPolicy(p),
      delete: (p) => t.deletePolicy(p.metadata.name ?? ''),
    });
    this.nodes.on({
      add: (n) => t.upsertNode(n.metadata.name, n.metadata.labels),
      update: (n) => t.upsertNode(n.metadata.name, n.metadata.labels),
      delete: (n) => t.deleteNode(n.metadata.name),
    });
    this.attestations.on({
      add: (a) => t.upsertAttestation(a),
      update: (a) => t.upsertAttestation(a),
      delete: (a) => t.deleteAttestation(a.metadata.name ?? ''),
    });
    // The JWKS watches follow the policies: a Secret no policy names is never read.
    const follow = () => this.jwks.follow(jwksSecretRefs(this.policies.list(), this.namespace));
    this.policies.on({ add: follow, update: follow, delete: follow });
  }

  start(): void {
    for (const i of this.#all) i.start();
    this.jwks.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#all.map((i) => i.stop()), this.jwks.stop()]);
    this.client.close();
  }

  /**
   * Every cache has its first full list, and so has every JWKS Secret watch (one that is
   * refused counts: policy status reports it, and it must not hold the webhook down).
   */
  synced(): boolean {
    // Base caches first: the JWKS watches are only complete once the policies are listed.
    return this.#all.every((i) => i.synced()) && this.jwks.synced();
  }

  /** Synced and every watch heard from recently (for /readyz). */
  healthy(): boolean {
    return this.synced() && this.#all.every((i) => i.healthy()) && this.jwks.healthy();
  }

  /** Resolves true once synced and every started signature check has landed; false on abort. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    const ok =
      (await Promise.all(this.#all.map((i) => i.waitForSync(signal)))).every(Boolean) &&
      (await this.jwks.waitForSync(signal));
    if (ok) await this.trust.settled();
    return ok;
  }

  status(now = Date.now()): CacheStatus[] {
    return [...this.#all, ...this.jwks.informers()].map((i) => ({
      name: i.name,
      synced: i.synced(),
      healthy: i.healthy(now),
      objects: i.size,
      lastEventAgeMs: i.lastEventAge(now),
    }));
  }

  // ---- reads used by the webhook and the controllers ----

  grantsFor(namespace: string, serviceAccount: string): WorkloadGrant[] {
    return this.grants.byIndex('sa', saKey(namespace, serviceAccount));
  }

  namespaceLabels(namespace: string): Record<string, string> {
    return this.namespaces.get(namespace)?.metadata.labels ?? {};
  }

  podsOnNode(node: string): PodLite[] {
    return this.pods.byIndex('node', node);
  }

  podsOfServiceAccount(namespace: string, serviceAccount: string): PodLite[] {
    return this.pods.byIndex('sa', saKey(namespace, serviceAccount));
  }

  legacyTokenSecretsOf(namespace: string, serviceAccount: string): TokenSecretLite[] {
    return this.tokenSecrets.byIndex('sa', saKey(namespace, serviceAccount));
  }

  isLegacyTokenSecret(namespace: string, name: string): boolean {
    return this.tokenSecrets.get(name, namespace) !== undefined;
  }
}

export function createCaches(opts: CachesOptions): Caches {
  return new Caches(opts);
}
