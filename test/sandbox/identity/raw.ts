// HTTPS requests to the API server that return status, headers and the decoded body
// (tests need Warning headers and exact Status bodies), plus small test conveniences.
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

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
  const headers: Record<string, string | number> = { ...baseHeaders, accept: 'application/json' };
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
 * the cluster uses), or with `token` as the bearer instead; TLS checked against its CA.
 */
export async function kubeRequest(
  kc: KubeConfig,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<RawResponse> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const base: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(base);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(base.headers ?? {})) {
    if (typeof v === 'string') headers[k.toLowerCase()] = v;
  }
  if (token !== undefined) {
    delete base.cert;
    delete base.key;
    headers.authorization = `Bearer ${token}`;
  }
  return send(
    new URL(path, server),
    { ...base, method, headers: undefined },
    headers,
    body,
    contentType,
  );
}

/** Polls `probe` until it returns a value (or throws after `attempts`). */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  attempts = 100,
): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not reached');
}

/** True when tests run against the local sandbox rather than a real cluster. */
export const onSandbox = !(process.env.TRUSTGATE_TEST_KUBECONFIG || process.env.KUBECONFIG);

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
