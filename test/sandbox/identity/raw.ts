// One HTTPS request to the API server with a bearer token, returning status, headers and
// the decoded body (tests need the Warning headers and exact Status bodies).
import https from 'node:https';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  body: any;
}

export function rawRequest(
  server: { url: string; caPem: string },
  token: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<RawResponse> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(path, server.url),
      {
        method,
        ca: server.caPem,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
        },
      },
      (res) => {
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
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
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

/**
 * Starts a sandbox from a test. @peculiar/x509 (CommonJS) would otherwise be evaluated
 * under Jest's ESM loader before the sandbox's Reflect shim, so load the shim first.
 */
export async function startTestSandbox(): Promise<
  import('../../../hack/sandbox/index.ts').Sandbox
> {
  await import('../../../hack/sandbox/reflect-shim.ts');
  const { startSandbox } = await import('../../../hack/sandbox/index.ts');
  return startSandbox();
}
