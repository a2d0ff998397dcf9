// The plain-HTTP side port: /metrics (prom-client text), /healthz (the process is alive)
// and /readyz (it can decide: caches synced and fresh, a serving certificate loaded).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  ok: () => boolean;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(opts: {
  port: number;
  host?: string;
  registry: Registry;
  readiness: ReadinessCheck[];
  /** Extra detail for /readyz?verbose (e.g. per-cache status). */
  detail?: () => unknown;
}): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/healthz' || url.pathname === '/livez') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (url.pathname === '/readyz') {
      const failing = opts.readiness.filter((c) => !safe(c.ok)).map((c) => c.name);
      const body = url.searchParams.has('verbose')
        ? `${JSON.stringify({ ready: failing.length === 0, failing, detail: opts.detail?.() }, null, 2)}\n`
        : failing.length === 0
          ? 'ok\n'
          : `not ready: ${failing.join(', ')}\n`;
      res.writeHead(failing.length === 0 ? 200 : 503, { 'content-type': 'text/plain' }).end(body);
      return;
    }
    if (url.pathname === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function safe(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}
