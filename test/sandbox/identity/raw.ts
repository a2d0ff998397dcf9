// HTTPS requests to the API server that return status, headers and the decoded body
// (tests need Warning headers and exact Status bodies), plus small test conveniences.
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { clusterCaPem } from '../../support/cluster.ts';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
}

function send(
  url: URL,
  options: https.RequestOptions,
  baseHeaders: Record<string, string>,
  body: unknown,
  contentType: string,
): Promise<RawResponse> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { accept: 'application/json', ...baseHeaders };
  if (payload) {
    headers['content-type'] = contentType;
    headers['content-length'] = payload.length;
  }
  return new Promise((resolve, reject) => {
    const req = https.request(url, { ...options, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A request to `server` with `token` as the bearer. */
export function rawRequest(
  server: { url: string; caPem: string },
  token: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<RawResponse> {
  const headers = { authorization: `Bearer ${token}` };
  return send(new URL(path, server.url), { method, ca: server.caPem }, headers, body, contentType);
}

/**
 * A request with a kubeconfig's own credentials (client certificate or token, whatever
 * the cluster uses), or with only `token` as the bearer instead (no client certificate:
 * kube would authenticate the certificate first); TLS checked against its CA.
 */
export async function kubeRequest(
  kc: KubeConfig,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  accept = 'application/json',
): Promise<RawResponse> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const url = new URL(path, server);
  if (token !== undefined) {
    const ca = await clusterCaPem(kc);
    const headers = { authorization: `Bearer ${token}`, accept };
    return send(url, { method, ...(ca ? { ca } : {}) }, headers, body, contentType);
  }
  const base: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(base);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(base.headers ?? {})) {
    if (typeof v === 'string') headers[k.toLowerCase()] = v;
  }
  headers.accept = accept;
  return send(url, { ...base, method, headers: undefined }, headers, body, contentType);
}

/**
 * Starts a sandbox from a test (the x509 Reflect shim is installed by webhook/tls/x509.ts,
 * which the sandbox's TLS code loads first).
 */
export async function startTestSandbox(): Promise<
  import('../../../hack/sandbox/index.ts').Sandbox
> {
  const { startSandbox } = await import('../../../hack/sandbox/index.ts');
  return startSandbox();
}

/** The test cluster (a real one from KUBECONFIG, else a sandbox). */
export async function startCluster(): Promise<import('../../support/cluster.ts').TestCluster> {
  const { startTestCluster } = await import('../../support/cluster.ts');
  return startTestCluster();
}
