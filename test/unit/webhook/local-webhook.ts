// The real webhook server for tests and benchmarks: a fresh CA, a serving certificate it
// signs for localhost and 127.0.0.1, HTTPS on 127.0.0.1 at a free port.
import {
  startWebhookServer,
  type TlsMaterial,
  type WebhookServer,
  type WebhookServerOptions,
} from '../../../webhook/server.ts';
import {
  createCertificateAuthority,
  issueServingCertificate,
  type KeyPairPem,
} from '../../../webhook/tls/certificates.ts';

export interface LocalWebhook {
  server: WebhookServer;
  /** The CA clients trust (certPem) and that can issue further serving certificates. */
  ca: KeyPairPem;
  /** The serving certificate and key the server started with. */
  tls: TlsMaterial;
}

/** Starts the webhook with `options`; the CA and serving certificate last `lifetimeMs`. */
export async function startLocalWebhook(
  options: Omit<WebhookServerOptions, 'tls' | 'port' | 'host'>,
  lifetimeMs = 86_400_000,
): Promise<LocalWebhook> {
  const now = Date.now();
  const ca = await createCertificateAuthority('test-ca', now, lifetimeMs);
  const serving = await issueServingCertificate(ca, ['localhost', '127.0.0.1'], now, lifetimeMs);
  const tls = { cert: serving.certPem, key: serving.keyPem };
  const server = await startWebhookServer({ ...options, tls, port: 0, host: '127.0.0.1' });
  return { server, ca, tls };
}
