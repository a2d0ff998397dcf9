// The namespace lifecycle and the controllers that fill every namespace, as kube's
// namespace controller, service-account controller and root-CA publisher do: a new
// namespace gets its name label, phase Active, a "default" ServiceAccount and the
// kube-root-ca.crt ConfigMap; a deleted one turns Terminating, loses its content, then goes.
import type { KindHooks, ObjectAPI } from './api.ts';
import { type ResourceType, resourceKey } from './resources.ts';
import type { KubeObject } from './types.ts';
import { newUID, nowRFC3339 } from './util.ts';

export const NAME_LABEL = 'kubernetes.io/metadata.name';

export class NamespaceLifecycle {
  private readonly api: ObjectAPI;
  private readonly caPem: string;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(api: ObjectAPI, caPem: string) {
    this.api = api;
    this.caPem = caPem;
  }

  private type(resource: string): ResourceType {
    const t = this.api.registry.lookup('', 'v1', resource);
    if (!t) throw new Error(`built-in resource ${resource} missing`);
    return t;
  }

  hooks(): KindHooks {
    return {
      prepareCreate: (ns) => {
        ns.metadata.labels = { ...ns.metadata.labels, [NAME_LABEL]: ns.metadata.name ?? '' };
        ns.spec = { finalizers: ['kubernetes'] };
        ns.status = { phase: 'Active' };
      },
      prepareUpdate: (ns, old) => {
        ns.metadata.labels = { ...ns.metadata.labels, [NAME_LABEL]: ns.metadata.name ?? '' };
        ns.spec = old.spec;
      },
      afterWrite: (ns, old) => {
        if (!old) this.populate(ns.metadata.name ?? '');
      },
      delete: (ns) => this.beginTermination(ns),
    };
  }

  /** The default ServiceAccount and the root CA ConfigMap of a new namespace. */
  populate(namespace: string): void {
    const sa = this.type('serviceaccounts');
    if (!this.api.entry(sa, namespace, 'default')) {
      this.api.seed(sa, { metadata: { name: 'default', namespace } });
    }
    const cm = this.type('configmaps');
    if (!this.api.entry(cm, namespace, 'kube-root-ca.crt')) {
      this.api.seed(cm, {
        metadata: {
          name: 'kube-root-ca.crt',
          namespace,
          annotations: {
            'kubernetes.io/description':
              'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.',
          },
        },
        data: { 'ca.crt': this.caPem },
      });
    }
  }

  private beginTermination(ns: KubeObject): KubeObject {
    const t = this.type('namespaces');
    const next = structuredClone(ns);
    if (!next.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = nowRFC3339();
      next.metadata.deletionGracePeriodSeconds = 0;
      next.status = { ...(next.status as object), phase: 'Terminating' };
      this.api.writeInternal(t, next);
    }
    this.schedule(ns.metadata.name ?? '', 0);
    return next;
  }

  private schedule(name: string, delay: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.sweep(name);
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  /** Deletes what is left in the namespace; removes the namespace once it is empty. */
  private sweep(name: string): void {
    const nsType = this.type('namespaces');
    const ns = this.api.tryRead(nsType, '', name);
    if (!ns?.metadata.deletionTimestamp) return;
    let remaining = 0;
    const seen = new Set<string>();
    for (const t of this.api.registry.all()) {
      const key = resourceKey(t.group, t.resource);
      if (!t.namespaced || seen.has(key)) continue;
      seen.add(key);
      this.api.deleteAllInternal(t, name);
      remaining += this.api.store.list(key, name).length;
    }
    if (remaining > 0) {
      this.schedule(name, 250);
      return;
    }
    this.api.removeNow(nsType, ns);
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}

/** The default namespaces every cluster starts with. */
export function seedNamespaces(api: ObjectAPI, lifecycle: NamespaceLifecycle): void {
  const t = api.registry.lookup('', 'v1', 'namespaces');
  if (!t) return;
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    api.seed(t, {
      metadata: { name, uid: newUID(), labels: { [NAME_LABEL]: name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    lifecycle.populate(name);
  }
}
