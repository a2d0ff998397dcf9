// A client-node KubeConfig for one identity of the sandbox (scheduler, a kubelet), so the
// helpers talk to the API server over HTTPS like the real components, never to the store.
import { KubeConfig } from '@kubernetes/client-node';

export interface Identity {
  /** API server URL. */
  url: string;
  /** CA that signed the API server's certificate. */
  caPem: string;
  /** Bearer token of the identity. */
  token: string;
  /** A label for the kubeconfig user entry. */
  user: string;
}

export function kubeConfigFor(id: Identity): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'sandbox',
        server: id.url,
        caData: Buffer.from(id.caPem).toString('base64'),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: id.user, token: id.token }],
    contexts: [{ name: id.user, cluster: 'sandbox', user: id.user }],
    currentContext: id.user,
  });
  return kc;
}

/** The kube Status message of a client-node ApiException (or any error). */
export function apiErrorMessage(err: unknown): { code?: number; message: string } {
  const e = err as { code?: number; body?: unknown; message?: string };
  let body = e.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // keep the raw text
    }
  }
  const message =
    body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string'
      ? (body as { message: string }).message
      : (e.message ?? String(err));
  return { code: typeof e.code === 'number' ? e.code : undefined, message };
}
