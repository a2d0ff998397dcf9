// The sandbox control plane: an HTTPS server speaking enough of the Kubernetes REST API
// for client-node and kubectl. `startSandbox()` starts one in-process.
import { mkdtemp, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { renderKubeconfig } from './kubeconfig.ts';
import { createServingMaterial } from './tls.ts';
import { createTokenAuthority } from './tokens.ts';
import type { SandboxContext } from './types.ts';

export interface SandboxOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Where the kubeconfig is written; a fresh temp directory by default. */
  dir?: string;
  host?: '127.0.0.1';
}

export interface Sandbox {
  url: string;
  kubeconfigPath: string;
  caPem: string;
  adminToken: string;
  nodeToken(nodeName: string): string;
  stop(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'trustgate-sandbox-')));
  const tls = await createServingMaterial([host, 'localhost']);
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ major: '1', minor: '35', gitVersion: 'v1.35.0-trustgate-sandbox' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const url = `https://${host}:${(server.address() as AddressInfo).port}`;
  const ctx: SandboxContext = {
    store: { get: () => undefined, list: () => [] },
    url,
    caPem: tls.caPem,
    resolveService: () => undefined,
  };
  const tokens = await createTokenAuthority(ctx);
  const kubeconfigPath = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, renderKubeconfig(url, tls.caPem, tokens.adminToken), {
    mode: 0o600,
  });
  return {
    url,
    kubeconfigPath,
    caPem: tls.caPem,
    adminToken: tokens.adminToken,
    nodeToken: (name) => tokens.nodeToken(name),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
