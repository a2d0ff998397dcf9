// One HTTPS POST to a webhook, modelled on kube-apiserver's client: TLS verified against
// the caBundle (or the system roots), `?timeout=Ns` on the URL, a hard deadline, and errors
// worded like Go's net/http ones.
import https from 'node:https';
import { isIP } from 'node:net';

export interface WebhookEndpoint {
  /** The URL kube would call (service form: https://<svc>.<ns>.svc:<port><path>). */
  displayUrl: string;
  /** Where the bytes actually go (a service is mapped to a local address). */
  connectUrl: string;
  /** The hostname the serving certificate must be valid for. */
  serverName: string;
  /** PEM bundle; undefined → system roots. */
  caPem?: string;
}

/** A failure to get a usable HTTP answer; `message` is what follows "failed to call webhook: ". */
export class WebhookCallError extends Error {}

const MAX_RESPONSE_BYTES = 3 * 1024 * 1024;

// Kept-alive connections: a TLS handshake per call would
// dominate the cost of admission. The agent pools by host, port, CA and server name.
const agent = new https.Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 });

function withTimeoutParam(url: string, timeoutSeconds: number): string {
  const u = new URL(url);
  u.searchParams.set('timeout', `${timeoutSeconds}s`);
  return u.toString();
}

function describeNetworkError(err: NodeJS.ErrnoException, endpoint: WebhookEndpoint): string {
  const target = new URL(endpoint.connectUrl);
  const addr = `${target.hostname}:${target.port || 443}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'ECONNRESET':
      return 'read: connection reset by peer';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'CERT_SIGNATURE_FAILURE':
      return 'tls: failed to verify certificate: x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid';
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `tls: failed to verify certificate: x509: certificate is not valid for ${endpoint.serverName}`;
    default:
      return err.message;
  }
}

/** Words a non-2xx answer as client-go's REST client does. */
function describeHttpFailure(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { kind?: string; message?: string };
    if (parsed.kind === 'Status' && parsed.message) return parsed.message;
  } catch {
    // not a Status: fall through
  }
  if (status === 404) return 'the server could not find the requested resource';
  const shown = body.length > 0 ? `("${body.slice(0, 256)}") ` : '';
  return `an error on the server ${shown}has prevented the request from succeeding`;
}

/** POSTs `review` and returns the decoded JSON answer, or throws WebhookCallError. */
export function postReview(
  endpoint: WebhookEndpoint,
  review: unknown,
  timeoutSeconds: number,
): Promise<unknown> {
  const displayUrl = withTimeoutParam(endpoint.displayUrl, timeoutSeconds);
  const connectUrl = new URL(withTimeoutParam(endpoint.connectUrl, timeoutSeconds));
  const payload = Buffer.from(JSON.stringify(review));
  const fail = (reason: string) => new WebhookCallError(`Post "${displayUrl}": ${reason}`);

  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const req = https.request(
      connectUrl,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, */*',
          'content-length': payload.length,
        },
        ca: endpoint.caPem,
        // Node checks the certificate against servername (else the host): for a mapped
        // service that is <svc>.<ns>.svc. SNI takes no IP address.
        servername: isIP(endpoint.serverName) ? undefined : endpoint.serverName,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy();
            finish(() => reject(fail('response body too large')));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish(() => reject(fail(err.message))));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) {
            finish(() => reject(new WebhookCallError(describeHttpFailure(status, body))));
            return;
          }
          try {
            const parsed: unknown = JSON.parse(body);
            finish(() => resolve(parsed));
          } catch (err) {
            finish(() =>
              reject(new WebhookCallError(`couldn't decode response: ${(err as Error).message}`)),
            );
          }
        });
      },
    );
    const timer = setTimeout(() => {
      finish(() => reject(fail('context deadline exceeded')));
      req.destroy();
    }, timeoutSeconds * 1000);
    req.on('error', (err) => finish(() => reject(fail(describeNetworkError(err, endpoint)))));
    req.end(payload);
  });
}
