// The sandbox control plane: an HTTPS server speaking enough of the Kubernetes REST API
// for client-node and kubectl, with an in-memory store. `startSandbox()` starts one
// in-process; `npm run sandbox` (main.ts) runs one from the command line.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ObjectAPI } from './api.ts';
import { crdHooks } from './crds.ts';
import { eventHooks } from './events.ts';
import { Handlers } from './handlers.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { NamespaceLifecycle, seedNamespaces } from './namespaces.ts';
import { podHooks } from './pods.ts';
import { Registry } from './registry.ts';
import { type ResourceType, resourceKey } from './resources.ts';
import { serviceHooks } from './services.ts';
import { Store } from './store.ts';
import { createServingMaterial } from './tls.ts';
import { createTokenAuthority, type TokenAuthority } from './tokens.ts';
import type { KubeObject, ResourceRef, SandboxContext } from './types.ts';
import {
  deploymentHooks,
  podDisruptionBudgetHooks,
  priorityClassHooks,
  seedPriorityClasses,
} from './workloads.ts';

export interface SandboxOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Where the kubeconfig is written; a fresh temp directory by default. */
  dir?: string;
  host?: '127.0.0.1';
  /** Watch events kept per resource for resume; older resourceVersions get 410 Expired. */
  watchHistory?: number;
}

export interface Sandbox {
  url: string;
  kubeconfigPath: string;
  caPem: string;
  adminToken: string;
  /** Bearer token of the kubelet identity system:node:<nodeName>. */
  nodeToken(nodeName: string): string;
  /** The token authority (TokenRequest, TokenReview, scheduler token...). */
  tokens: TokenAuthority;
  /** Direct access to objects, for seeding benchmarks and white-box checks. */
  objects: ObjectAPI;
  /** Cuts every open watch connection (clients must resume on their own). */
  dropWatches(): void;
  /** Seeds an object without going through HTTP or admission (benchmarks, fixtures). */
  seed(group: string, version: string, resource: string, obj: KubeObject): void;
  stop(): Promise<void>;
}

function readerOf(store: Store): SandboxContext['store'] {
  const key = (ref: ResourceRef) => resourceKey(ref.group, ref.resource);
  return {
    get(ref, namespace, name) {
      const e = store.get(key(ref), namespace ?? '', name);
      return e ? (JSON.parse(e.json) as KubeObject) : undefined;
    },
    list(ref, namespace) {
      return store.list(key(ref), namespace).map((e) => JSON.parse(e.json) as KubeObject);
    },
  };
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'trustgate-sandbox-')));
  const tls = await createServingMaterial([host, 'localhost']);
  let handlers: Handlers | undefined;
  // Open watch responses, so tests can cut them as a load balancer or restart would.
  const watches = new Set<ServerResponse>();
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    if (/[?&]watch=(1|true)(&|$)/.test(req.url ?? '')) {
      watches.add(res);
      res.on('close', () => watches.delete(res));
    }
    if (!handlers) {
      res.writeHead(503).end();
      return;
    }
    void handlers.handle(req, res);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://${host}:${port}`;

  const store = new Store({ historySize: opts.watchHistory ?? 20_000 });
  const registry = new Registry();
  const ctx: SandboxContext = {
    store: readerOf(store),
    url,
    caPem: tls.caPem,
  };
  const api = new ObjectAPI(store, registry, ctx);
  const tokens = await createTokenAuthority(ctx);
  const builtin = (resource: string, group = '', version = 'v1') => {
    const t = registry.lookup(group, version, resource);
    if (!t) throw new Error(`built-in ${resource} missing`);
    return t;
  };
  const lifecycle = new NamespaceLifecycle(api, tls.caPem);
  api.hooks.set('namespaces', lifecycle.hooks());
  api.hooks.set('pods', podHooks(api, builtin('serviceaccounts')));
  api.hooks.set('services', serviceHooks());
  api.hooks.set('secrets', {
    prepareCreate: (secret) => {
      secret.type ??= 'Opaque';
    },
    afterWrite: (secret) => void fillLegacyToken(api, tokens, builtin('secrets'), secret),
  });
  api.hooks.set(
    'customresourcedefinitions.apiextensions.k8s.io',
    crdHooks(api, builtin('customresourcedefinitions', 'apiextensions.k8s.io')),
  );
  api.hooks.set('events', eventHooks());
  api.hooks.set('deployments.apps', deploymentHooks());
  api.hooks.set('poddisruptionbudgets.policy', podDisruptionBudgetHooks());
  api.hooks.set('priorityclasses.scheduling.k8s.io', priorityClassHooks());
  seedNamespaces(api, lifecycle);
  seedPriorityClasses(api, builtin('priorityclasses', 'scheduling.k8s.io'));

  handlers = new Handlers(api, tokens, {
    serverAddress: `${host}:${port}`,
  });

  await mkdir(dir, { recursive: true });
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
    tokens,
    objects: api,
    dropWatches: () => {
      for (const res of watches) res.destroy();
      watches.clear();
    },
    seed: (group, version, resource, obj) =>
      api.seed(builtinOrCustom(registry, group, version, resource), obj),
    stop: () =>
      new Promise<void>((resolve) => {
        api.stopTimers();
        lifecycle.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function builtinOrCustom(
  registry: Registry,
  group: string,
  version: string,
  resource: string,
): ResourceType {
  const t = registry.lookup(group, version, resource);
  if (!t) throw new Error(`the sandbox does not serve ${group}/${version} ${resource}`);
  return t;
}

/** The token controller: a legacy service-account token Secret gets its token filled in. */
async function fillLegacyToken(
  api: ObjectAPI,
  tokens: TokenAuthority,
  t: ResourceType,
  secret: KubeObject,
): Promise<void> {
  const filled = await tokens.populateLegacySecret(secret);
  if (!filled) return;
  const current = api.tryRead(t, secret.metadata.namespace ?? '', secret.metadata.name ?? '');
  if (!current || current.metadata.uid !== secret.metadata.uid) return;
  filled.metadata.resourceVersion = current.metadata.resourceVersion;
  api.writeInternal(t, filled);
}
