// A loopback HTTPS proxy in front of an API server, for fault tests: it holds back the
// requests a rule matches (a slow API server, a revocation caught half-way) or drops
// their connections, and forwards everything else untouched. A process under test reaches
// it through the kubeconfig the proxy writes, so the product runs unmodified.
//
// TLS ends here (the proxy has its own CA, named in its kubeconfig); upstream, the proxy
// verifies the API server with the original kubeconfig's CA and presents its client
// certificate, if it has one. A bearer token travels in the client's own Authorization
// header, so every request keeps the identity of the process that sent it.
//
// Every request is logged (method, path, query, status), so a test can count what the
// process did at the wire: revocations sent, verbs used, what a list or watch asked for.
// Response bodies are kept only for the paths a test names (recordBodies).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import yaml from 'js-yaml';
import { loadClusterAccess } from '../../operator/kube/kubeconfig.ts';
import {
  createCertificateAuthority,
  issueServingCertificate,
} from '../../webhook/tls/certificates.ts';

export interface FaultRule {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Path (without the query) to match (any when absent). */
  path?: RegExp;
  /**
   * How long to hold a matching request before forwarding it: a number, or a function of
   * the request's index among this rule's matches (0 for the first), e.g. to let a few by.
   */
  delayMs?: number | ((nth: number) => number);
  /** Destroy the client's connection instead of forwarding (or for the nth matches it picks). */
  drop?: boolean | ((nth: number) => boolean);
  /**
   * Answer with this HTTP status and a kube Status body instead of forwarding (what
   * kube-apiserver answers when its storage is down, say).
   */
  respond?: number;
}

export interface RecordedRequest {
  method: string;
  /** The path without the query. */
  path: string;
  query: URLSearchParams;
  /** When the proxy received it (ms since the epoch). */
  at: number;
  /** The upstream response's status; undefined while held, dropped or unanswered. */
  status?: number;
  /** Destroyed by a drop rule (never sent upstream). */
  dropped?: boolean;
  /** The response body so far, for paths matching recordBodies (gunzipped). */
  body(): string | undefined;
  /** The request body, for paths matching recordBodies. */
  requestBody(): string | undefined;
}

export interface FaultProxy {
  url: string;
  /** A copy of the upstream kubeconfig whose current cluster is this proxy. */
  kubeconfigPath: string;
  /** Replaces the rules; the first rule that matches a request applies. */
  setRules(rules: FaultRule[]): void;
  /** Requests each rule has matched so far (same order as the rules). */
  matched(): number[];
  /** Forwards every request held so far now, whatever its rule said. */
  release(): void;
  /** Every request received so far, in arrival order. */
  requests(): readonly RecordedRequest[];
  /** Cuts every open connection (watches included); clients must reconnect. */
  dropConnections(): void;
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;

type KubeconfigDoc = {
  'current-context'?: string;
  contexts?: { name: string; context: { cluster: string } }[];
  clusters?: { name: string; cluster: Record<string, unknown> }[];
};

/** The kubeconfig with its current cluster replaced by the proxy. */
function redirected(doc: KubeconfigDoc, url: string, caPem: string): KubeconfigDoc {
  const context = doc.contexts?.find((c) => c.name === doc['current-context']);
  const entry = doc.clusters?.find((c) => c.name === context?.context.cluster);
  if (!entry) throw new Error('fault proxy: the kubeconfig has no current cluster');
  const {
    'certificate-authority': _file,
    'insecure-skip-tls-verify': _insecure,
    'tls-server-name': _name,
    ...rest
  } = entry.cluster;
  entry.cluster = {
    ...rest,
    server: url,
    'certificate-authority-data': Buffer.from(caPem).toString('base64'),
  };
  return doc;
}

export async function startFaultProxy(opts: {
  /** The kubeconfig of the API server to sit in front of. */
  kubeconfigPath: string;
  rules?: FaultRule[];
  /** Keep the response bodies of requests whose path matches (e.g. secrets lists and watches). */
  recordBodies?: RegExp;
}): Promise<FaultProxy> {
  const upstreamAccess = await loadClusterAccess(opts.kubeconfigPath);
  const upstream = new URL(upstreamAccess.getCurrentCluster()?.server ?? '');
  const tls: https.RequestOptions = {};
  await upstreamAccess.applyToHTTPSOptions(tls);
  // CA and client certificate only: the client's own Authorization header is forwarded.
  const agent = new https.Agent({
    keepAlive: true,
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    servername: tls.servername,
    rejectUnauthorized: tls.rejectUnauthorized,
  });

  const now = Date.now();
  const ca = await createCertificateAuthority('trustgate-fault-proxy', now, HOUR_MS);
  const leaf = await issueServingCertificate(ca, ['127.0.0.1', 'localhost'], now, HOUR_MS);

  let rules = opts.rules ?? [];
  let counts = rules.map(() => 0);
  const sockets = new Set<Socket>();
  /** Held requests: their timer, and how to send them on at once. */
  const timers = new Map<NodeJS.Timeout, () => void>();
  const log: RecordedRequest[] = [];

  /** A log entry for `req`, and how to capture its response. */
  interface Capture {
    entry: RecordedRequest;
    onForward(): void;
    onResponse(up: http.IncomingMessage): void;
  }
  const record = (req: http.IncomingMessage): Capture => {
    const url = new URL(req.url ?? '/', 'https://proxy');
    const keep = opts.recordBodies?.test(url.pathname) === true;
    const chunks = keep ? ([] as Buffer[]) : undefined;
    const sent = keep ? ([] as Buffer[]) : undefined;
    let gzip = false;
    const entry: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      at: Date.now(),
      body() {
        if (!chunks) return undefined;
        const raw = Buffer.concat(chunks);
        // A body cut mid-stream (a watch) still decodes as far as it goes.
        return (gzip ? gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH }) : raw).toString();
      },
      requestBody: () => (sent ? Buffer.concat(sent).toString() : undefined),
    };
    log.push(entry);
    return {
      entry,
      // Called when the request flows upstream: a listener earlier would un-pause a held one.
      onForward() {
        if (sent) req.on('data', (d: Buffer) => sent.push(d));
      },
      onResponse(up) {
        entry.status = up.statusCode;
        gzip = up.headers['content-encoding'] === 'gzip';
        if (chunks) up.on('data', (d: Buffer) => chunks.push(d));
      },
    };
  };

  const answer = (res: http.ServerResponse, code: number, entry: RecordedRequest) => {
    entry.status = code;
    res.writeHead(code, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Status',
        status: 'Failure',
        message: `fault proxy: answered ${code}`,
        code,
      }),
    );
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, capture: Capture) => {
    const { host: _host, ...headers } = req.headers;
    const out = https.request(
      {
        protocol: 'https:',
        hostname: upstream.hostname,
        port: upstream.port || 443,
        method: req.method,
        path: req.url,
        headers,
        agent,
      },
      (up) => {
        capture.onResponse(up);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
        // A response cut upstream (a watch when the API server dies) is cut here too; a
        // pipe alone would leave the client waiting on a silent connection.
        up.on('close', () => {
          if (!up.complete) res.destroy();
        });
      },
    );
    out.on('error', () => res.destroy());
    capture.onForward();
    res.on('close', () => out.destroy());
    req.pipe(out);
  };

  const server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const recorded = record(req);
    const pathname = recorded.entry.path;
    const i = rules.findIndex(
      (r) => (!r.method || r.method === req.method) && (!r.path || r.path.test(pathname)),
    );
    const rule = rules[i];
    if (!rule) return forward(req, res, recorded);
    const nth = counts[i] ?? 0;
    counts[i] = nth + 1;
    if (typeof rule.drop === 'function' ? rule.drop(nth) : rule.drop) {
      recorded.entry.dropped = true;
      return req.socket.destroy();
    }
    if (rule.respond) return answer(res, rule.respond, recorded.entry);
    const delay = typeof rule.delayMs === 'function' ? rule.delayMs(nth) : (rule.delayMs ?? 0);
    if (delay <= 0) return forward(req, res, recorded);
    req.pause();
    const send = () => {
      clearTimeout(timer);
      timers.delete(timer);
      req.resume();
      forward(req, res, recorded);
    };
    const timer = setTimeout(send, delay);
    timers.set(timer, send);
    // A held request whose client went away (killed) is never sent upstream.
    res.on('close', () => {
      clearTimeout(timer);
      timers.delete(timer);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'tg-fault-proxy-'));
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  const doc = yaml.load(await readFile(opts.kubeconfigPath, 'utf8')) as KubeconfigDoc;
  await writeFile(kubeconfigPath, yaml.dump(redirected(doc, url, ca.certPem)), { mode: 0o600 });

  const dropConnections = () => {
    for (const s of sockets) s.destroy();
  };
  return {
    url,
    kubeconfigPath,
    setRules(next) {
      rules = next;
      counts = next.map(() => 0);
    },
    matched: () => [...counts],
    release() {
      for (const send of [...timers.values()]) send();
    },
    requests: () => log,
    dropConnections,
    async stop() {
      for (const t of timers.keys()) clearTimeout(t);
      timers.clear();
      dropConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
