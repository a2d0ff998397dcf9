// A list+watch cache that does not die.
//
// Built on our own list+watch (operator/kube/rest.ts, authenticated through client-node's
// KubeConfig) rather than client-node's ListWatch/makeInformer, because that one:
// - stops for good after any error other than 410 or a client timeout (it only calls the
//   'error' handlers), and its list() errors likewise end it;
// - lists without pagination and deserialises every object through ObjectSerializer
//   before we could trim it, which is what makes 50,000 pods expensive;
// - on 410 re-lists but only reports deletions, not the updates missed while away;
// - never asks for bookmarks or a server timeout, and cannot see Retry-After on a 429.
// Here: paginated lists, objects trimmed before they are stored, watches with
// allowWatchBookmarks + timeoutSeconds so a healthy watch always speaks, an inactivity
// timer that re-watches a silent connection, 410 → re-list with synthetic
// add/update/delete for everything that changed while away, and jittered exponential
// backoff (honouring Retry-After) for every other failure, forever, until stop().
import type { Logger } from 'pino';
import { Backoff, type BackoffOptions, sleep } from './backoff.ts';
import { isGone, KubeApiError, type KubeClient, type WatchEvent } from './rest.ts';

export interface KubeObjectLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface InformerHandler<T> {
  add?(obj: T): void;
  update?(obj: T, old: T): void;
  delete?(obj: T): void;
}

export interface InformerOptions<T extends KubeObjectLike> {
  /** For logs and metrics, e.g. "pods". */
  name: string;
  client: KubeClient;
  /** Collection path, e.g. /api/v1/pods (see resourcePath). */
  path: string;
  /** Trims what is stored; returning undefined drops the object (a filter). */
  transform?: (raw: Record<string, unknown>) => T | undefined;
  labelSelector?: string;
  fieldSelector?: string;
  /** Items per list page. */
  pageSize?: number;
  /** Server-side watch timeout; the server closes the watch cleanly after about this long. */
  watchTimeoutSeconds?: number;
  /** No event or bookmark for this long → the watch is presumed dead and re-established. */
  inactivityTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Secondary indexes: name → the index values of an object. */
  indexes?: Record<string, (obj: T) => string[]>;
  logger?: Logger;
  /** Told of each failed list or watch (before the retry), e.g. to report a 403. */
  onError?: (err: unknown) => void;
}

class WatchInactive extends Error {
  constructor(ms: number) {
    super(`no watch event or bookmark for ${ms} ms`);
    this.name = 'WatchInactive';
  }
}

export const objectKey = (o: KubeObjectLike) =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : (o.metadata?.name ?? '');

export class Informer<T extends KubeObjectLike> {
  readonly name: string;
  #opts: InformerOptions<T>;
  #store = new Map<string, T>();
  #indexes = new Map<string, Map<string, Set<string>>>();
  #handlers: InformerHandler<T>[] = [];
  #resourceVersion = '';
  #synced = false;
  #syncWaiters: (() => void)[] = [];
  #lastProgress = 0;
  #stop = new AbortController();
  #running: Promise<void> | undefined;
  #backoff: Backoff;
  /** Counters for metrics and tests. */
  readonly stats = { lists: 0, watches: 0, errors: 0, inactivityRestarts: 0, gone: 0 };

  constructor(opts: InformerOptions<T>) {
    this.name = opts.name;
    this.#opts = opts;
    this.#backoff = new Backoff({ initialMs: 200, maxMs: 30_000, ...opts.backoff });
    for (const index of Object.keys(opts.indexes ?? {})) this.#indexes.set(index, new Map());
  }

  on(handler: InformerHandler<T>): () => void {
    this.#handlers.push(handler);
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== handler);
    };
  }

  start(): void {
    if (this.#running) return;
    this.#running = this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort(new Error('informer stopped'));
    await this.#running;
  }

  /** True once the first full list is in the store. */
  synced(): boolean {
    return this.#synced;
  }

  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onAbort = () => resolve(false);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      });
    });
  }

  /** Milliseconds since the last list, event or bookmark (Infinity before the first). */
  lastEventAge(now = Date.now()): number {
    return this.#lastProgress ? now - this.#lastProgress : Number.POSITIVE_INFINITY;
  }

  /** Synced and heard from within twice the inactivity timeout. */
  healthy(now = Date.now()): boolean {
    return this.#synced && this.lastEventAge(now) <= 2 * this.#inactivityMs;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): IterableIterator<T> {
    return this.#store.values();
  }

  get size(): number {
    return this.#store.size;
  }

  /** Objects whose index `index` contains `value`. */
  byIndex(index: string, value: string): T[] {
    const keys = this.#indexes.get(index)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = this.#store.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  get #inactivityMs(): number {
    return this.#opts.inactivityTimeoutMs ?? 90_000;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const log = this.#opts.logger;
    while (!signal.aborted) {
      try {
        if (!this.#resourceVersion) await this.#relist(signal);
        const started = Date.now();
        const events = await this.#watch(signal);
        // A server that closes watches at once must not make us spin.
        if (events === 0 && Date.now() - started < 1000) await sleep(this.#backoff.next(), signal);
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          this.stats.gone++;
          log?.info({ informer: this.name }, 'watch expired (410 Gone); re-listing');
          this.#resourceVersion = '';
          // A server answering 410 again and again must not make us spin.
          if (this.stats.gone > 1) await sleep(this.#backoff.next(), signal);
          continue;
        }
        if (err instanceof WatchInactive) {
          this.stats.inactivityRestarts++;
          log?.warn({ informer: this.name, err: err.message }, 'silent watch; re-watching');
          continue;
        }
        this.stats.errors++;
        this.#notify(() => this.#opts.onError?.(err));
        const retryAfterMs =
          err instanceof KubeApiError && err.retryAfterSeconds !== undefined
            ? err.retryAfterSeconds * 1000
            : 0;
        const delay = Math.max(retryAfterMs, this.#backoff.next());
        log?.warn(
          { informer: this.name, err: (err as Error).message, retryInMs: delay },
          'list/watch failed; retrying',
        );
        await sleep(delay, signal);
      }
    }
  }

  async #relist(signal: AbortSignal): Promise<void> {
    const { client, path, pageSize = 500 } = this.#opts;
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      if (signal.aborted) return;
      const page = await client.get<{
        metadata?: { resourceVersion?: string; continue?: string };
        items?: Record<string, unknown>[];
      }>(path, {
        limit: pageSize,
        continue: continueToken,
        labelSelector: this.#opts.labelSelector,
        fieldSelector: this.#opts.fieldSelector,
      });
      for (const raw of page.items ?? []) {
        const obj = this.#transform(raw);
        if (obj) fresh.set(objectKey(obj), obj);
      }
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? '';
    } while (continueToken);
    this.stats.lists++;
    this.#replace(fresh);
    this.#resourceVersion = resourceVersion;
    this.#progress();
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  /** Watches until the server ends the stream; returns how many events arrived. */
  async #watch(signal: AbortSignal): Promise<number> {
    const { client, path } = this.#opts;
    const abort = new AbortController();
    const onStop = () => abort.abort(signal.reason);
    signal.addEventListener('abort', onStop, { once: true });
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => abort.abort(new WatchInactive(this.#inactivityMs)),
        this.#inactivityMs,
      );
    };
    const timeoutSeconds = this.#opts.watchTimeoutSeconds ?? 240;
    this.stats.watches++;
    let events = 0;
    try {
      arm();
      await client.watch(
        path,
        {
          resourceVersion: this.#resourceVersion,
          allowWatchBookmarks: true,
          // Spread re-watches of many replicas apart.
          timeoutSeconds: Math.round(timeoutSeconds * (1 + Math.random() * 0.25)),
          labelSelector: this.#opts.labelSelector,
          fieldSelector: this.#opts.fieldSelector,
        },
        (event) => {
          arm();
          events++;
          this.#apply(event);
        },
        abort.signal,
      );
      return events;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
    }
  }

  #apply(event: WatchEvent): void {
    const rv = (event.object?.metadata as { resourceVersion?: string } | undefined)
      ?.resourceVersion;
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED': {
        const obj = this.#transform(event.object);
        const key = obj ? objectKey(obj) : objectKey(event.object as KubeObjectLike); // filtered out now: drop any old copy
        if (obj) this.#upsert(key, obj);
        else this.#remove(key);
        break;
      }
      case 'DELETED':
        this.#remove(objectKey(event.object as KubeObjectLike));
        break;
      case 'BOOKMARK':
        break;
      case 'ERROR': {
        const status = event.object as { code?: number; reason?: string; message?: string };
        throw new KubeApiError(
          status.code ?? 500,
          status.reason ?? '',
          `watch error: ${status.message ?? 'unknown'}`,
        );
      }
    }
    if (rv) this.#resourceVersion = rv;
    this.#backoff.reset();
    this.stats.gone = 0;
    this.#progress();
  }

  #transform(raw: Record<string, unknown>): T | undefined {
    return this.#opts.transform ? this.#opts.transform(raw) : (raw as T);
  }

  #progress(): void {
    this.#lastProgress = Date.now();
  }

  /** Swaps in a fresh list, reporting the difference as events. */
  #replace(fresh: Map<string, T>): void {
    for (const [key, old] of this.#store) {
      if (!fresh.has(key)) this.#remove(key, old);
    }
    for (const [key, obj] of fresh) this.#upsert(key, obj);
  }

  #upsert(key: string, obj: T): void {
    const old = this.#store.get(key);
    if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    if (old) this.#unindex(key, old);
    this.#store.set(key, obj);
    this.#index(key, obj);
    for (const h of this.#handlers) this.#notify(() => (old ? h.update?.(obj, old) : h.add?.(obj)));
  }

  #remove(key: string, known?: T): void {
    const old = known ?? this.#store.get(key);
    if (!old) return;
    this.#store.delete(key);
    this.#unindex(key, old);
    for (const h of this.#handlers) this.#notify(() => h.delete?.(old));
  }

  #notify(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#opts.logger?.error({ informer: this.name, err }, 'informer handler failed');
    }
  }

  #index(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.#opts.indexes ?? {})) {
      const index = this.#indexes.get(name);
      if (!index) continue;
      for (const value of fn(obj)) {
        let keys = index.get(value);
        if (!keys) {
          keys = new Set();
          index.set(value, keys);
        }
        keys.add(key);
      }
    }
  }

  #unindex(key: string, obj: T): void {
    for (const [name, fn] of Object.entries(this.#opts.indexes ?? {})) {
      const index = this.#indexes.get(name);
      if (!index) continue;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}
