// Loads API-server credentials for `trustgate run` without @kubernetes/client-node.
// Why: importing client-node pulls in its generated API (~85 MiB of RSS before any object
// is cached), while the runtime only needs a server URL, TLS material and a bearer token
// (KubeClient in rest.ts). In-cluster config, token/client-certificate kubeconfigs and
// exec credential plugins are handled here; anything else (auth-provider, proxy-url)
// falls back to client-node's KubeConfig, loaded only then.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';

/** What KubeClient needs; client-node's KubeConfig satisfies it too. */
export interface ClusterAccess {
  getCurrentCluster(): { server: string; proxyUrl?: string } | null;
  applyToHTTPSOptions(options: https.RequestOptions): Promise<void>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Bound service-account tokens rotate on disk; re-read them about this often (as client-go). */
const TOKEN_FILE_TTL_MS = 60_000;

interface NamedEntry<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[];
}

interface UserEntry {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: ExecConfig;
  'auth-provider'?: unknown;
  username?: string;
}

interface ClusterEntry {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
}

interface Credentials {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
  serverName?: string;
  token?: () => Promise<string | undefined>;
}

class KubeconfigError extends Error {
  override name = 'KubeconfigError';
}

/** Re-reads a token file at most every TOKEN_FILE_TTL_MS. */
function tokenFromFile(file: string): () => Promise<string> {
  let cached: { token: string; until: number } | undefined;
  return async () => {
    if (cached && cached.until > Date.now()) return cached.token;
    const token = (await readFile(file, 'utf8')).trim();
    cached = { token, until: Date.now() + TOKEN_FILE_TTL_MS };
    return token;
  };
}

/** Runs a client.authentication.k8s.io exec plugin; caches its credential until it expires. */
function tokenFromExec(exec: ExecConfig, cert: { cert?: Buffer; key?: Buffer }) {
  const run = promisify(execFile);
  let cached: { token?: string; until: number } | undefined;
  return async () => {
    if (cached && cached.until > Date.now()) return cached.token;
    const apiVersion = exec.apiVersion ?? 'client.authentication.k8s.io/v1';
    const env = { ...process.env };
    for (const e of exec.env ?? []) env[e.name] = e.value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion,
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
    const { stdout } = await run(exec.command, exec.args ?? [], { env, timeout: 60_000 });
    const status = (JSON.parse(stdout) as { status?: Record<string, string> }).status ?? {};
    if (status.clientCertificateData) cert.cert = Buffer.from(status.clientCertificateData);
    if (status.clientKeyData) cert.key = Buffer.from(status.clientKeyData);
    const expires = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : NaN;
    // Refresh a minute early; a credential without expiry is re-fetched every 10 minutes.
    const until = Number.isNaN(expires) ? Date.now() + 600_000 : expires - 60_000;
    cached = { token: status.token, until };
    return status.token;
  };
}

function inCluster(): Credentials {
  const host = process.env.KUBERNETES_SERVICE_HOST ?? '';
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: readFileSync(path.join(SA_DIR, 'ca.crt')),
    token: tokenFromFile(path.join(SA_DIR, 'token')),
  };
}

function pick<T>(list: unknown, name: string | undefined, key: string, what: string): T {
  const entry = (Array.isArray(list) ? (list as NamedEntry<T>[]) : []).find((e) => e.name === name);
  if (!entry?.[key]) throw new KubeconfigError(`kubeconfig: ${what} "${name ?? ''}" not found`);
  return entry[key] as T;
}

/** Parses a kubeconfig; undefined when it uses what only client-node supports. */
function fromKubeconfig(file: string): Credentials | undefined {
  const doc = yaml.load(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') throw new KubeconfigError(`${file}: not a kubeconfig`);
  const contextName = doc['current-context'] as string | undefined;
  const context = pick<{ cluster: string; user: string }>(
    doc.contexts,
    contextName,
    'context',
    'context',
  );
  const cluster = pick<ClusterEntry>(doc.clusters, context.cluster, 'cluster', 'cluster');
  const user = pick<UserEntry>(doc.users, context.user, 'user', 'user');
  if (cluster['proxy-url'] || user['auth-provider'] || user.username) return undefined;
  const dir = path.dirname(file);
  const material = (data?: string, ref?: string) =>
    data ? Buffer.from(data, 'base64') : ref ? readFileSync(path.resolve(dir, ref)) : undefined;
  const creds: Credentials = {
    server: cluster.server,
    ca: material(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: material(user['client-certificate-data'], user['client-certificate']),
    key: material(user['client-key-data'], user['client-key']),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    serverName: cluster['tls-server-name'],
  };
  if (user.token) {
    const token = user.token;
    creds.token = async () => token;
  } else if (user.tokenFile) {
    creds.token = tokenFromFile(path.resolve(dir, user.tokenFile));
  } else if (user.exec) {
    creds.token = tokenFromExec(user.exec, creds);
  }
  return creds;
}

function access(creds: Credentials): ClusterAccess {
  return {
    getCurrentCluster: () => ({ server: creds.server }),
    async applyToHTTPSOptions(options) {
      const token = await creds.token?.();
      if (creds.ca) options.ca = creds.ca;
      if (creds.cert) options.cert = creds.cert;
      if (creds.key) options.key = creds.key;
      if (creds.serverName) options.servername = creds.serverName;
      options.rejectUnauthorized = !creds.insecure;
      if (token) options.headers = { ...options.headers, Authorization: `Bearer ${token}` };
    },
  };
}

/** The kubeconfig file kubectl would use: $KUBECONFIG's first existing entry, else ~/.kube/config. */
function defaultKubeconfigPath(): string {
  const candidates = (process.env.KUBECONFIG ?? '').split(path.delimiter).filter(Boolean);
  candidates.push(path.join(os.homedir(), '.kube', 'config'));
  for (const file of candidates) {
    try {
      readFileSync(file);
      return file;
    } catch {
      // not there: try the next one
    }
  }
  throw new KubeconfigError(
    'no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a pod with a service account',
  );
}

/**
 * Credentials from --kubeconfig, else in-cluster, else $KUBECONFIG / ~/.kube/config.
 * Kubeconfigs that need client-node (auth-provider, basic auth, proxy-url) are loaded by it.
 */
export async function loadClusterAccess(file?: string): Promise<ClusterAccess> {
  if (!file && process.env.KUBERNETES_SERVICE_HOST) return access(inCluster());
  const kubeconfig = file ?? defaultKubeconfigPath();
  const creds = fromKubeconfig(kubeconfig);
  if (creds) return access(creds);
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}
