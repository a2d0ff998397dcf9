// A thin JSON client for the Kubernetes REST API on node:http(s), configured from a
// ClusterAccess (operator/kube/kubeconfig.ts, or a client-node KubeConfig).
//
// Why not client-node's generated API classes: they run every object through
// ObjectSerializer (slow and memory-hungry for 50,000 pods), hide response headers (so a
// 429's Retry-After is lost) and give no handle on the streaming body. Here every call is
// one request with kube semantics: status codes become KubeApiError with the Status
// reason, and watches are streamed line by line.
import http from 'node:http';
import https from 'node:https';
import type { ClusterAccess } from './kubeconfig.ts';

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** A non-2xx answer from the API server, with its kube Status reason when present. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  /** Seconds the server asked us to wait (Retry-After or Status details), if any. */
  readonly retryAfterSeconds: number | undefined;
  constructor(statusCode: number, reason: string, message: string, retryAfterSeconds?: number) {
    super(message);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeApiError && e.statusCode === 404;
export const isConflict = (e: unknown) => e instanceof KubeApiError && e.statusCode === 409;
export const isGone = (e: unknown) => e instanceof KubeApiError && e.statusCode === 410;
/** Worth retrying later: throttled, server-side trouble, or no answer at all. */
export const isRetryable = (e: unknown) =>
  !(e instanceof KubeApiError) || e.statusCode === 429 || e.statusCode >= 500;

export interface ResourceRef {
  group?: string; // '' or undefined for the core group
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** The REST path of a collection, object or subresource. */
export function resourcePath(r: ResourceRef): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const ns = r.namespace ? `/namespaces/${encodeURIComponent(r.namespace)}` : '';
  const name = r.name ? `/${encodeURIComponent(r.name)}` : '';
  const sub = r.name && r.subresource ? `/${r.subresource}` : '';
  return `${base}${ns}/${r.plural}${name}${sub}`;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

interface Connection {
  server: URL;
  options: https.RequestOptions;
  expiresAt: number;
}

/** Credentials (e.g. a projected token file) are re-read this often. */
const CONNECTION_REFRESH_MS = 30_000;
/** Concurrent connections to the API server (watches hold one each). */
const MAX_SOCKETS = 128;

export class KubeClient {
  readonly kubeConfig: ClusterAccess;
  #connection: Connection | undefined;
  #pending: Promise<Connection> | undefined;
  #agent: http.Agent | undefined;

  constructor(kubeConfig: ClusterAccess) {
    this.kubeConfig = kubeConfig;
  }

  /** Closes idle keep-alive connections (open watches end when their signals abort). */
  close(): void {
    this.#agent?.destroy();
  }

  async #connect(): Promise<Connection> {
    if (this.#connection && this.#connection.expiresAt > Date.now()) return this.#connection;
    this.#pending ??= (async () => {
      const cluster = this.kubeConfig.getCurrentCluster();
      if (!cluster) throw new Error('kubeconfig has no current cluster');
      const options: https.RequestOptions = {};
      await this.kubeConfig.applyToHTTPSOptions(options);
      const server = new URL(cluster.server);
      if (!cluster.proxyUrl) {
        // client-node's agent has no keep-alive: one TLS handshake per request.
        this.#agent ??=
          server.protocol === 'http:'
            ? new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS })
            : new https.Agent({
                keepAlive: true,
                maxSockets: MAX_SOCKETS,
                ca: options.ca,
                cert: options.cert,
                key: options.key,
                pfx: options.pfx,
                passphrase: options.passphrase,
                rejectUnauthorized: options.rejectUnauthorized,
                servername: options.servername,
              });
        options.agent = this.#agent;
      }
      this.#connection = { server, options, expiresAt: Date.now() + CONNECTION_REFRESH_MS };
      return this.#connection;
    })().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #open(
    method: string,
    path: string,
    opts: RequestOptions,
  ): Promise<{ res: http.IncomingMessage; conn: Connection }> {
    const conn = await this.#connect();
    const url = new URL(conn.server.href.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const body =
      opts.body === undefined
        ? undefined
        : typeof opts.body === 'string'
          ? opts.body
          : JSON.stringify(opts.body);
    const headers: Record<string, string> = {
      ...(conn.options.headers as Record<string, string> | undefined),
      accept: 'application/json',
    };
    if (body !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        url,
        { ...conn.options, method, headers, signal: opts.signal },
        (res) => resolve({ res, conn }),
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** One request; resolves to the parsed JSON body, throws KubeApiError on non-2xx. */
  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<T> {
    const { res } = await this.#open(method, path, opts);
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(status, text, res.headers['retry-after']);
    return (text ? JSON.parse(text) : {}) as T;
  }

  get<T = Record<string, unknown>>(path: string, query?: Query) {
    return this.request<T>('GET', path, { query });
  }
  /** get(), with a missing object (404 NotFound) as undefined rather than an error. */
  async getIfExists<T = Record<string, unknown>>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
  create<T = Record<string, unknown>>(path: string, body: unknown) {
    return this.request<T>('POST', path, { body });
  }
  replace<T = Record<string, unknown>>(path: string, body: unknown) {
    return this.request<T>('PUT', path, { body });
  }
  patch<T = Record<string, unknown>>(path: string, body: unknown, type: PatchType = 'merge') {
    return this.request<T>('PATCH', path, { body, contentType: PATCH_CONTENT_TYPES[type] });
  }
  delete<T = Record<string, unknown>>(path: string, body?: unknown) {
    return this.request<T>('DELETE', path, { body });
  }

  /**
   * Streams a watch: calls onEvent per line until the server closes the stream (resolves)
   * or something fails (rejects: KubeApiError for a non-200 answer, the abort reason when
   * signal fires, a network error otherwise).
   */
  async watch(
    path: string,
    query: Query,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const { res } = await this.#open('GET', path, { query: { ...query, watch: 1 }, signal });
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      throw apiError(status, await readAll(res), res.headers['retry-after']);
    }
    res.setEncoding('utf8');
    let buffered = '';
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        res.destroy();
        reject(err);
      };
      signal.addEventListener('abort', () => fail(signal.reason), { once: true });
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          nl = buffered.indexOf('\n');
          if (!line) continue;
          let event: WatchEvent;
          try {
            event = JSON.parse(line) as WatchEvent;
          } catch {
            fail(new Error(`watch ${path}: unparseable event`));
            return;
          }
          try {
            onEvent(event);
          } catch (err) {
            fail(err);
            return;
          }
        }
      });
      res.on('end', () => resolve());
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(new Error(`watch ${path}: connection closed mid-stream`));
      });
    });
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function apiError(status: number, text: string, retryAfter: string | string[] | undefined) {
  let reason = '';
  let message = `HTTP ${status}`;
  let retry = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
  try {
    const s = JSON.parse(text) as {
      reason?: string;
      message?: string;
      details?: { retryAfterSeconds?: number };
    };
    reason = s.reason ?? '';
    if (s.message) message = `HTTP ${status}: ${s.message}`;
    retry ??= s.details?.retryAfterSeconds;
  } catch {
    if (text) message = `HTTP ${status}: ${text.slice(0, 200)}`;
  }
  return new KubeApiError(status, reason, message, retry);
}

/** Retry-After as delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}
