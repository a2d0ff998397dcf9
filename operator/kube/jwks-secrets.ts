// The Secrets that policies name in jwksSecretRef, and nothing else: one informer per
// named Secret, in its own namespace, with fieldSelector=metadata.name=<name>, started and
// stopped as policies change. No other Secret's data ever reaches the process, and RBAC
// can grant exactly these (a Role per namespace, or resourceNames).
import type { Logger } from 'pino';
import type { EndpointTrustPolicy } from '../api/types.generated.ts';
import { Informer, type InformerOptions, type KubeObjectLike } from './informer.ts';
import { KubeApiError, type KubeClient, resourcePath } from './rest.ts';
import { type SecretLite, trimSecret } from './trim.ts';

export interface SecretRef {
  namespace: string;
  name: string;
}

const refKey = (r: SecretRef) => `${r.namespace}/${r.name}`;

/** The Secrets the policies' verifiers name (pure); a ref without namespace is trustgate's. */
export function jwksSecretRefs(
  policies: Iterable<EndpointTrustPolicy>,
  defaultNamespace: string,
): SecretRef[] {
  const refs = new Map<string, SecretRef>();
  for (const p of policies) {
    for (const v of p.spec?.attestation?.verifiers ?? []) {
      const ref = v.jwksSecretRef;
      if (!ref?.name) continue;
      const r = { namespace: ref.namespace || defaultNamespace, name: ref.name };
      refs.set(refKey(r), r);
    }
  }
  return [...refs.values()];
}

/** Why a named Secret cannot be read: set while its watch has never listed and is refused. */
export interface SecretAccessProblem {
  statusCode: number;
  message: string;
}

export interface JwksSecretSink {
  upsert(namespace: string, name: string, data: SecretLite['data']): void;
  delete(namespace: string, name: string): void;
  /** True from the watch's start until its first list (or a refusal), and on removal false. */
  pending(namespace: string, name: string, pending: boolean): void;
}

interface Watch {
  informer: Informer<SecretLite>;
  problem?: SecretAccessProblem;
  /** Added after the first full sync: its first list is not waited for (see synced()). */
  late: boolean;
}

export interface JwksSecretWatchesOptions {
  client: KubeClient;
  logger?: Logger;
  informer?: Pick<
    InformerOptions<KubeObjectLike>,
    'inactivityTimeoutMs' | 'watchTimeoutSeconds' | 'pageSize' | 'backoff'
  >;
  sink: JwksSecretSink;
}

export class JwksSecretWatches {
  readonly #opts: JwksSecretWatchesOptions;
  readonly #watches = new Map<string, Watch>();
  readonly #listeners = new Set<(ref: SecretRef) => void>();
  #started = false;
  #syncedOnce = false;

  constructor(opts: JwksSecretWatchesOptions) {
    this.#opts = opts;
  }

  /** Watches exactly `refs`: starts the new ones, stops (and forgets) the others. */
  follow(refs: SecretRef[]): void {
    const wanted = new Map(refs.map((r) => [refKey(r), r]));
    for (const [key, w] of this.#watches) {
      if (wanted.has(key)) continue;
      this.#watches.delete(key);
      void w.informer.stop();
      const [namespace = '', name = ''] = key.split('/');
      this.#opts.sink.delete(namespace, name);
      this.#opts.sink.pending(namespace, name, false);
      this.#emit({ namespace, name });
    }
    for (const [key, ref] of wanted) {
      if (this.#watches.has(key)) continue;
      const w = this.#watch(ref);
      this.#watches.set(key, w);
      if (this.#started) w.informer.start();
    }
  }

  #watch(ref: SecretRef): Watch {
    const { sink } = this.#opts;
    const w: Watch = {
      late: this.#syncedOnce,
      informer: new Informer<SecretLite>({
        client: this.#opts.client,
        logger: this.#opts.logger,
        ...this.#opts.informer,
        name: `jwks-secret ${refKey(ref)}`,
        path: resourcePath({ version: 'v1', plural: 'secrets', namespace: ref.namespace }),
        fieldSelector: `metadata.name=${ref.name}`,
        transform: trimSecret,
        onError: (err) => {
          // Only a refusal is a settled answer; other failures are retried as pending.
          if (w.informer.synced() || !(err instanceof KubeApiError)) return;
          if (err.statusCode !== 403 && err.statusCode !== 401) return;
          const had = w.problem;
          w.problem = { statusCode: err.statusCode, message: err.message };
          sink.pending(ref.namespace, ref.name, false);
          if (!had) this.#emit(ref);
        },
      }),
    };
    const upsert = (s: SecretLite) => {
      sink.upsert(ref.namespace, ref.name, s.data);
      this.#emit(ref);
    };
    w.informer.on({
      add: upsert,
      update: upsert,
      delete: () => {
        sink.delete(ref.namespace, ref.name);
        this.#emit(ref);
      },
    });
    sink.pending(ref.namespace, ref.name, true);
    void w.informer.waitForSync().then((ok) => {
      if (!ok) return;
      w.problem = undefined;
      sink.pending(ref.namespace, ref.name, false);
      this.#emit(ref);
    });
    return w;
  }

  start(): void {
    this.#started = true;
    for (const w of this.#watches.values()) w.informer.start();
  }

  async stop(): Promise<void> {
    this.#started = false;
    await Promise.all([...this.#watches.values()].map((w) => w.informer.stop()));
  }

  /** Told when a named Secret's data, or whether it can be read, may have changed. */
  onChange(listener: (ref: SecretRef) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(ref: SecretRef): void {
    for (const l of this.#listeners) {
      try {
        l(ref);
      } catch {
        // A listener's failure must not stop the others.
      }
    }
  }

  /** Why trustgate cannot read this Secret, when it has been refused and never listed it. */
  accessProblem(ref: SecretRef): SecretAccessProblem | undefined {
    return this.#watches.get(refKey(ref))?.problem;
  }

  /**
   * Every watch has listed its Secret or been refused (a refusal is reported, not waited
   * on). Call it once the policies are listed: from the first true answer on, watches
   * for policies created later are not waited for, so a new policy never makes every
   * replica "not ready" for governed requests under the other policies; until its own
   * list lands, its verifier just has no keys.
   */
  synced(): boolean {
    const all = [...this.#watches.values()].every(
      (w) => w.late || w.informer.synced() || w.problem,
    );
    if (all) this.#syncedOnce = true;
    return all;
  }

  /** Every watch that has listed its Secret still hears from the server. */
  healthy(now = Date.now()): boolean {
    return [...this.#watches.values()].every(
      (w) => w.problem || !w.informer.synced() || w.informer.healthy(now),
    );
  }

  /** Resolves once synced() (watches added meanwhile included); false on abort. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    while (!this.synced()) {
      if (signal?.aborted) return false;
      await new Promise<void>((resolve) => {
        const done = () => {
          unsubscribe();
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const unsubscribe = this.onChange(done);
        signal?.addEventListener('abort', done, { once: true });
        if (this.synced()) done();
      });
    }
    return true;
  }

  informers(): Informer<SecretLite>[] {
    return [...this.#watches.values()].map((w) => w.informer);
  }
}
