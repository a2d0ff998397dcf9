// A tiny in-memory Kubernetes REST server for the kube-layer unit tests: list with
// pagination, watch with history, bookmarks and server timeouts, optimistic concurrency,
// and faults on demand (status codes with Retry-After, silent watches, dropped watches,
// compaction so old resourceVersions answer 410 Gone).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

type Obj = { metadata: { name: string; resourceVersion?: string; [k: string]: unknown } } & Record<
  string,
  unknown
>;
interface Event {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  rv: number;
  collection: string;
  object: Obj;
}

export interface Fault {
  status: number;
  retryAfter?: string;
  /** Only requests whose method and path match. */
  match?: (method: string, path: string, watch: boolean) => boolean;
}

export class FakeApiServer {
  readonly objects = new Map<string, Map<string, Obj>>(); // collection → name → object
  readonly requests: { method: string; path: string; watch: boolean; query: URLSearchParams }[] =
    [];
  #rv = 100;
  #history: Event[] = [];
  #compactedBelow = 0;
  #faults: Fault[] = [];
  #silent = false;
  #watchers = new Set<{ collection: string; res: http.ServerResponse; send: (e: Event) => void }>();
  bookmarkMs = 0;
  #server = http.createServer((req, res) => this.#handle(req, res));
  url = '';

  async start(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.#watchers) w.res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'test-token' }],
      contexts: [{ name: 'c', cluster: 'fake', user: 'u' }],
      currentContext: 'c',
    });
    return kc;
  }

  /** Declares an (empty) collection so it can be listed and watched. */
  collection(path: string): this {
    this.#collection(path);
    return this;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  put(collection: string, obj: Obj): Obj {
    const items = this.#collection(collection);
    const type = items.has(obj.metadata.name) ? 'MODIFIED' : 'ADDED';
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.#rv);
    items.set(obj.metadata.name, stored);
    this.#emit({ type, rv: this.#rv, collection, object: stored });
    return stored;
  }

  remove(collection: string, name: string): void {
    const items = this.#collection(collection);
    const old = items.get(name);
    if (!old) return;
    items.delete(name);
    const object = structuredClone(old);
    object.metadata.resourceVersion = String(++this.#rv);
    this.#emit({ type: 'DELETED', rv: this.#rv, collection, object });
  }

  /** Changes objects without telling watchers, then forgets history: watches get 410. */
  changeBehindTheBack(fn: () => void): void {
    const watchers = [...this.#watchers];
    this.#watchers.clear();
    fn();
    this.#compactedBelow = this.#rv + 1;
    for (const w of watchers) {
      w.res.write(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })}\n`,
      );
      w.res.end();
    }
  }

  fail(fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.#faults.push(fault);
  }

  /** Watches stay open but never send anything (a dead connection the client cannot see). */
  goSilent(silent = true): void {
    this.#silent = silent;
  }

  dropWatches(): void {
    for (const w of this.#watchers) w.res.destroy();
    this.#watchers.clear();
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  #collection(c: string): Map<string, Obj> {
    let items = this.objects.get(c);
    if (!items) {
      items = new Map();
      this.objects.set(c, items);
    }
    return items;
  }

  #emit(e: Event): void {
    this.#history.push(e);
    if (this.#silent) return;
    for (const w of this.#watchers) if (w.collection === e.collection) w.send(e);
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const watch = url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true';
    this.requests.push({ method, path: url.pathname, watch, query: url.searchParams });
    const faultAt = this.#faults.findIndex((f) => !f.match || f.match(method, url.pathname, watch));
    if (faultAt >= 0) {
      const [fault] = this.#faults.splice(faultAt, 1);
      if (fault) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (fault.retryAfter) headers['retry-after'] = fault.retryAfter;
        res.writeHead(fault.status, headers);
        res.end(JSON.stringify({ kind: 'Status', code: fault.status, message: 'injected' }));
        return;
      }
    }
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (method === 'GET' && this.objects.has(url.pathname)) {
        return watch ? this.#watch(url, res) : this.#list(url, res);
      }
      const slash = url.pathname.lastIndexOf('/');
      const collection = url.pathname.slice(0, slash);
      const name = decodeURIComponent(url.pathname.slice(slash + 1));
      const items = this.#collection(method === 'POST' ? url.pathname : collection);
      const send = (code: number, o: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(o));
      };
      const status = (code: number, reason: string) =>
        send(code, { kind: 'Status', code, reason, message: reason });
      if (method === 'GET') {
        const o = items.get(name);
        return o ? send(200, o) : status(404, 'NotFound');
      }
      const obj = body ? (JSON.parse(body) as Obj) : undefined;
      if (method === 'POST' && obj) {
        if (items.has(obj.metadata.name)) return status(409, 'AlreadyExists');
        return send(201, this.put(url.pathname, obj));
      }
      if (method === 'PUT' && obj) {
        const cur = items.get(name);
        if (!cur) return status(404, 'NotFound');
        if (
          obj.metadata.resourceVersion &&
          obj.metadata.resourceVersion !== cur.metadata.resourceVersion
        ) {
          return status(409, 'Conflict');
        }
        return send(200, this.put(collection, obj));
      }
      if (method === 'DELETE') {
        const cur = items.get(name);
        if (!cur) return status(404, 'NotFound');
        this.remove(collection, name);
        return send(200, cur);
      }
      status(405, 'MethodNotAllowed');
    });
  }

  #list(url: URL, res: http.ServerResponse): void {
    const all = [...this.#collection(url.pathname).values()];
    const limit = Number(url.searchParams.get('limit') ?? 0) || all.length;
    const from = Number(url.searchParams.get('continue') ?? 0);
    const page = all.slice(from, from + limit);
    const next = from + limit < all.length ? String(from + limit) : undefined;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'List',
        metadata: { resourceVersion: String(this.#rv), continue: next },
        items: page,
      }),
    );
  }

  #watch(url: URL, res: http.ServerResponse): void {
    const collection = url.pathname;
    const since = Number(url.searchParams.get('resourceVersion') ?? 0);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    if (since && since < this.#compactedBelow - 1) {
      res.end(
        `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })}\n`,
      );
      return;
    }
    const write = (type: string, object: unknown) => {
      if (!this.#silent) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const watcher = { collection, res, send: (e: Event) => write(e.type, e.object) };
    for (const e of this.#history) if (e.collection === collection && e.rv > since) watcher.send(e);
    this.#watchers.add(watcher);
    const timers: NodeJS.Timeout[] = [];
    if (this.bookmarkMs) {
      timers.push(
        setInterval(
          () =>
            write('BOOKMARK', {
              kind: 'Bookmark',
              metadata: { resourceVersion: String(this.#rv) },
            }),
          this.bookmarkMs,
        ),
      );
    }
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    if (timeout) timers.push(setTimeout(() => res.end(), timeout * 1000));
    res.on('close', () => {
      for (const t of timers) clearTimeout(t);
      this.#watchers.delete(watcher);
    });
  }
}
