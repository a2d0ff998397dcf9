// Self-managed webhook TLS: the CA and serving certificate live in one Secret shared by
// every replica. Each replica watches the Secret and serves what it holds; each also runs
// the rotation plan when it is due and writes with the resourceVersion it read, so when
// several replicas race, one write wins and the others adopt the winner's certificates.
import type { Logger } from 'pino';
import { Informer } from '../../operator/kube/informer.ts';
import { isConflict, isNotFound, type KubeClient, resourcePath } from '../../operator/kube/rest.ts';
import {
  DEFAULT_ROTATION,
  nextRotationCheck,
  planRotation,
  type RotationPolicy,
  secretDataFromState,
  stateFromSecretData,
} from './rotation.ts';
import { type CertificateSource, Listeners, type ServingCertificate } from './source.ts';

export interface SelfManagedOptions {
  client: KubeClient;
  namespace: string;
  secretName: string;
  /** Names and addresses the serving certificate must cover. */
  hosts: string[];
  rotation?: Partial<RotationPolicy>;
  logger?: Logger;
  now?: () => number;
}

interface SecretObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  type?: string;
  data?: Record<string, string>;
}

const MAX_TIMER_MS = 60 * 60_000;
const RETRY_MS = 5_000;

/** The SANs a webhook Service needs: <svc>.<ns>.svc and .svc.cluster.local (plus extras). */
export function serviceHosts(service: string, namespace: string, extra: string[] = []): string[] {
  return [
    ...new Set([
      `${service}.${namespace}.svc`,
      `${service}.${namespace}.svc.cluster.local`,
      ...extra,
    ]),
  ];
}

export class SelfManagedCertificates implements CertificateSource {
  readonly #opts: SelfManagedOptions;
  readonly #policy: RotationPolicy;
  readonly #path: string;
  readonly #informer: Informer<SecretObject>;
  #listeners = new Listeners<ServingCertificate>();
  #current: ServingCertificate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #ensuring: Promise<void> | undefined;

  constructor(opts: SelfManagedOptions) {
    this.#opts = opts;
    this.#policy = { ...DEFAULT_ROTATION, ...opts.rotation };
    const collection = resourcePath({
      version: 'v1',
      plural: 'secrets',
      namespace: opts.namespace,
    });
    this.#path = `${collection}/${encodeURIComponent(opts.secretName)}`;
    this.#informer = new Informer<SecretObject>({
      name: 'webhook-tls-secret',
      client: opts.client,
      path: collection,
      fieldSelector: `metadata.name=${opts.secretName}`,
      logger: opts.logger,
    });
    this.#informer.on({
      add: (s) => this.#adopt(s),
      update: (s) => this.#adopt(s),
      delete: () => this.#schedule(0),
    });
  }

  current() {
    return this.#current;
  }

  onChange(listener: (cert: ServingCertificate) => void) {
    return this.#listeners.add(listener);
  }

  async start(): Promise<ServingCertificate> {
    this.#informer.start();
    await this.#ensure();
    if (!this.#current)
      throw new Error(
        `no serving certificate in Secret ${this.#opts.namespace}/${this.#opts.secretName}`,
      );
    return this.#current;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#informer.stop();
  }

  /** Runs the rotation plan now (also on its own schedule). */
  ensure(): Promise<void> {
    return this.#ensure();
  }

  #now() {
    return (this.#opts.now ?? Date.now)();
  }

  #adopt(secret: SecretObject): void {
    const state = stateFromSecretData(secret.data);
    if (!state) {
      this.#schedule(0); // emptied or damaged: rebuild
      return;
    }
    const next: ServingCertificate = {
      cert: state.serving.certPem,
      key: state.serving.keyPem,
      caBundle: state.caBundle,
    };
    const cur = this.#current;
    if (!cur || cur.cert !== next.cert || cur.key !== next.key || cur.caBundle !== next.caBundle) {
      this.#current = next;
      this.#opts.logger?.info({ secret: this.#opts.secretName }, 'serving certificate loaded');
      this.#listeners.emit(next);
    }
    this.#schedule(nextRotationCheck(state, this.#policy) - this.#now());
  }

  #schedule(inMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    // A little jitter so replicas do not all generate keys at the same instant.
    const delay = Math.min(Math.max(inMs, 0), MAX_TIMER_MS) + Math.floor(Math.random() * 250);
    this.#timer = setTimeout(() => {
      this.#ensure().catch((err) => {
        this.#opts.logger?.error(
          { err: (err as Error).message },
          'certificate rotation failed; retrying',
        );
        this.#schedule(RETRY_MS);
      });
    }, delay);
    this.#timer.unref();
  }

  #ensure(): Promise<void> {
    this.#ensuring ??= this.#ensureOnce().finally(() => {
      this.#ensuring = undefined;
    });
    return this.#ensuring;
  }

  async #ensureOnce(): Promise<void> {
    const { client, namespace, secretName } = this.#opts;
    for (let attempt = 0; attempt < 5; attempt++) {
      let secret: SecretObject | undefined;
      try {
        secret = await client.get<SecretObject>(this.#path);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      const state = stateFromSecretData(secret?.data);
      const planned = await planRotation(state, this.#opts.hosts, this.#now(), this.#policy);
      if (!planned) {
        if (secret) this.#adopt(secret);
        return;
      }
      const body: SecretObject = {
        metadata: {
          name: secretName,
          namespace,
          resourceVersion: secret?.metadata.resourceVersion,
        },
        type: 'Opaque',
        data: secretDataFromState(planned),
      };
      try {
        const written = secret
          ? await client.replace<SecretObject>(this.#path, {
              apiVersion: 'v1',
              kind: 'Secret',
              ...body,
            })
          : await client.create<SecretObject>(
              resourcePath({ version: 'v1', plural: 'secrets', namespace }),
              { apiVersion: 'v1', kind: 'Secret', ...body },
            );
        this.#opts.logger?.info(
          { secret: secretName, created: !secret },
          'webhook certificates written',
        );
        this.#adopt(written);
        return;
      } catch (err) {
        // Another replica wrote first (create: AlreadyExists, update: Conflict): read theirs.
        if (isConflict(err)) continue;
        throw err;
      }
    }
    throw new Error(`Secret ${namespace}/${secretName} kept changing under us`);
  }
}
