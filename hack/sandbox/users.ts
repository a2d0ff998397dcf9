// Who may call the sandbox and what they may do. Static bearer tokens for the admin, the
// scheduler and one kubelet per node (made on demand); an authorizer shaped like kube's
// Node + RBAC pair with only the default roles trustgate relies on: cluster-admin for
// system:masters, the kubelet's rights limited to objects related to its node, the
// scheduler's rights, and discovery/self-review for every authenticated user (service
// accounts included). Everything else is denied with kube's 403 wording.
import { createHash, randomBytes } from 'node:crypto';
import { nodeNameOf } from './identity/node-identity.ts';
import type { AuthorizationRequest } from './tokens.ts';
import type { KubeObject, StoreReader, UserInfo } from './types.ts';

export const ADMIN_USERNAME = 'kubernetes-admin';
/** Who a request without credentials is, as with kube-apiserver's default --anonymous-auth. */
export const ANONYMOUS: UserInfo = {
  username: 'system:anonymous',
  groups: ['system:unauthenticated'],
};
export const SCHEDULER_USERNAME = 'system:kube-scheduler';
const AUTHENTICATED = 'system:authenticated';

const digest = (token: string) => createHash('sha256').update(token).digest('base64url');
const newToken = () => randomBytes(32).toString('base64url');

/** Opaque tokens for the sandbox's fixed identities; looked up by hash, never logged. */
export class StaticUsers {
  readonly adminToken = newToken();
  readonly schedulerToken = newToken();
  private readonly byDigest = new Map<string, UserInfo>();
  private readonly nodeTokens = new Map<string, string>();

  constructor() {
    this.add(this.adminToken, {
      username: ADMIN_USERNAME,
      groups: ['system:masters', AUTHENTICATED],
    });
    this.add(this.schedulerToken, { username: SCHEDULER_USERNAME, groups: [AUTHENTICATED] });
  }

  private add(token: string, user: UserInfo): void {
    this.byDigest.set(digest(token), user);
  }

  /** The kubelet token of `nodeName` (system:node:<name>, group system:nodes), made once. */
  nodeToken(nodeName: string): string {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName) || nodeName.length > 253) {
      throw new Error(`invalid node name "${nodeName}"`);
    }
    let token = this.nodeTokens.get(nodeName);
    if (!token) {
      token = newToken();
      this.nodeTokens.set(nodeName, token);
      this.add(token, {
        username: `system:node:${nodeName}`,
        groups: ['system:nodes', AUTHENTICATED],
      });
    }
    return token;
  }

  lookup(token: string): UserInfo | undefined {
    const user = this.byDigest.get(digest(token));
    return user && { ...user, groups: [...user.groups] };
  }
}

/** A rule granting `verbs` on `group/resource[/subresource]` ("*" wildcards). */
export interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  /** Only these namespaces; absent → everywhere. */
  namespaces?: string[];
}

/** Extra grants, e.g. for tests that run a component as a service account. */
export interface RoleGrant {
  /** Usernames or group names. */
  subjects: string[];
  rules: PolicyRule[];
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete'];
const CORE = [''];

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});

/** What every authenticated user may do (kube's system:basic-user + system:discovery). */
const BASIC_USER: PolicyRule[] = [
  rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
  rule(
    ['create'],
    ['authorization.k8s.io'],
    ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
  ),
];

/** kube's system:kube-scheduler role, the parts this sandbox serves. */
const SCHEDULER: PolicyRule[] = [
  rule(READ, CORE, ['pods', 'nodes', 'namespaces', 'services', 'persistentvolumeclaims']),
  rule(['create'], CORE, ['pods/binding', 'bindings']),
  rule(['patch', 'update'], CORE, ['pods/status']),
  rule(['delete'], CORE, ['pods']),
  rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']),
  rule(['get', 'create', 'update'], ['coordination.k8s.io'], ['leases']),
];

/** kube's system:node role; relationship checks below narrow the object-level ones. */
const NODE: PolicyRule[] = [
  rule(READ, CORE, ['nodes', 'pods', 'services']),
  rule(['create', 'update', 'patch', 'delete'], CORE, ['nodes']),
  rule(['update', 'patch'], CORE, ['nodes/status', 'pods/status']),
  rule(['create', 'delete'], CORE, ['pods']),
  rule(['create'], CORE, ['pods/eviction', 'serviceaccounts/token']),
  rule(['get'], CORE, ['secrets', 'configmaps', 'serviceaccounts']),
  rule(['create', 'patch', 'update'], ['', 'events.k8s.io'], ['events']),
  rule([...READ, ...WRITE], ['coordination.k8s.io'], ['leases']),
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
];

const matches = (items: string[], value: string) => items.includes('*') || items.includes(value);

function allowedBy(rules: PolicyRule[], req: AuthorizationRequest): boolean {
  const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  return rules.some(
    (r) =>
      matches(r.verbs, req.verb) &&
      matches(r.apiGroups, req.group) &&
      (matches(r.resources, resource) ||
        (req.subresource !== '' && r.resources.includes(`${req.resource}/*`))) &&
      (!r.namespaces || r.namespaces.includes(req.namespace)),
  );
}

/** kube's forbidden message from the authorizer ("User ... cannot ..."), reason appended. */
export function forbiddenReason(user: UserInfo, req: AuthorizationRequest, why?: string): string {
  const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  const where = req.namespace ? `in the namespace "${req.namespace}"` : 'at the cluster scope';
  const base = `User "${user.username}" cannot ${req.verb} resource "${resource}" in API group "${req.group}" ${where}`;
  return why ? `${base}: ${why}` : base;
}

const podsOnNode = (store: StoreReader, namespace: string, node: string) =>
  store
    .list({ group: '', resource: 'pods' }, namespace)
    .filter((p) => ((p.spec ?? {}) as { nodeName?: string }).nodeName === node);

/** Names of Secrets/ConfigMaps a pod uses through volumes, projected sources and env. */
function referencedNames(pod: KubeObject, kind: 'secret' | 'configMap'): Set<string> {
  const names = new Set<string>();
  const spec = (pod.spec ?? {}) as Record<string, unknown>;
  type Volume = Record<
    string,
    { secretName?: string; name?: string; sources?: Record<string, { name?: string }>[] }
  >;
  for (const v of (spec.volumes ?? []) as Volume[]) {
    const direct = v[kind];
    const name = kind === 'secret' ? direct?.secretName : direct?.name;
    if (name) names.add(name);
    for (const source of v.projected?.sources ?? []) {
      const projectedName = source[kind]?.name;
      if (projectedName) names.add(projectedName);
    }
  }
  type Container = {
    envFrom?: Record<string, { name?: string }>[];
    env?: { valueFrom?: Record<string, { name?: string }> }[];
  };
  const containers = [
    ...((spec.containers ?? []) as Container[]),
    ...((spec.initContainers ?? []) as Container[]),
  ];
  const refKey = kind === 'secret' ? 'secretRef' : 'configMapRef';
  const keyRef = kind === 'secret' ? 'secretKeyRef' : 'configMapKeyRef';
  for (const c of containers) {
    for (const from of c.envFrom ?? []) if (from[refKey]?.name) names.add(from[refKey].name);
    for (const e of c.env ?? [])
      if (e.valueFrom?.[keyRef]?.name) names.add(e.valueFrom[keyRef].name);
  }
  if (kind === 'secret') {
    for (const s of (spec.imagePullSecrets ?? []) as { name?: string }[])
      if (s.name) names.add(s.name);
  }
  return names;
}

/**
 * kube's Node authorizer for the object-level rights: a kubelet reaches a Secret,
 * ConfigMap or ServiceAccount (and its tokens) only through a pod scheduled on it.
 */
function nodeRelationship(node: string, req: AuthorizationRequest, store: StoreReader): boolean {
  const { group, resource, subresource, namespace, name } = req;
  if (group !== '') return true;
  const pods = () => podsOnNode(store, namespace, node);
  if (resource === 'serviceaccounts' && (subresource === '' || subresource === 'token')) {
    return pods().some(
      (p) =>
        (((p.spec ?? {}) as { serviceAccountName?: string }).serviceAccountName ?? 'default') ===
        name,
    );
  }
  if (resource === 'secrets') return pods().some((p) => referencedNames(p, 'secret').has(name));
  if (resource === 'configmaps') {
    // kube-root-ca.crt is projected into every pod by default.
    return pods().some(
      (p) => name === 'kube-root-ca.crt' || referencedNames(p, 'configMap').has(name),
    );
  }
  return true;
}

export interface AuthorizerOptions {
  grants?: RoleGrant[];
}

/** Returns null when allowed, else the reason the pipeline turns into a 403. */
export function authorize(
  user: UserInfo,
  req: AuthorizationRequest,
  store: StoreReader,
  opts: AuthorizerOptions = {},
): string | null {
  if (user.groups.includes('system:masters')) return null;
  if (user.groups.includes(AUTHENTICATED) && allowedBy(BASIC_USER, req)) return null;
  const grants = (opts.grants ?? []).filter((g) =>
    g.subjects.some((s) => s === user.username || user.groups.includes(s)),
  );
  if (grants.some((g) => allowedBy(g.rules, req))) return null;
  if (user.username === SCHEDULER_USERNAME && allowedBy(SCHEDULER, req)) return null;
  const node = nodeNameOf(user);
  if (node !== undefined && allowedBy(NODE, req)) {
    if (req.name === '' || nodeRelationship(node, req, store)) return null;
    return forbiddenReason(
      user,
      req,
      `no relationship found between node '${node}' and this object`,
    );
  }
  return forbiddenReason(user, req);
}

/**
 * kube's default ClusterRoles for non-resource paths: system:public-info-viewer (health
 * and version, for everyone, anonymous included), system:discovery (API discovery and
 * OpenAPI, for authenticated users) and system:service-account-issuer-discovery (the
 * issuer's OIDC documents, for service accounts). Returns null when allowed, else kube's
 * 403 message.
 */
export function authorizeNonResource(user: UserInfo, verb: string, path: string): string | null {
  if (user.groups.includes('system:masters')) return null;
  const top = path.split('/')[1] ?? '';
  const exact =
    ['healthz', 'livez', 'readyz', 'version'].includes(top) && path.split('/').length <= 2;
  const allowed =
    verb === 'get' &&
    (exact ||
      (user.groups.includes(AUTHENTICATED) &&
        ['api', 'apis', 'openapi', 'version'].includes(top)) ||
      (user.groups.includes('system:serviceaccounts') && ['openid', '.well-known'].includes(top)));
  return allowed ? null : `forbidden: User "${user.username}" cannot ${verb} path "${path}"`;
}
