// What RBAC sees of an HTTP request to kube-apiserver (its request attributes: verb,
// API group, resource/subresource, namespace, name, or a non-resource URL), and whether a
// set of PolicyRules grants it. Follows kube-apiserver's RequestInfoFactory: a list or
// watch selecting `metadata.name=X` is authorized as a request for X.
import type { RecordedRequest } from './fault-proxy.ts';

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export type Attributes =
  | {
      kind: 'resource';
      verb: string;
      group: string;
      /** resource, or resource/subresource. */
      resource: string;
      namespace?: string;
      name?: string;
    }
  | { kind: 'nonResource'; verb: string; path: string };

const VERBS: Record<string, string> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

export function attributesOf(r: Pick<RecordedRequest, 'method' | 'path' | 'query'>): Attributes {
  const parts = r.path.split('/').filter(Boolean);
  let group: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length > 2) {
    group = '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length > 3) {
    group = parts[1] as string;
    rest = parts.slice(3);
  } else {
    return { kind: 'nonResource', verb: r.method.toLowerCase(), path: r.path };
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 2) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource = '', nameFromPath, sub] = rest;
  const selected = /^metadata\.name=([^,]+)$/.exec(r.query.get('fieldSelector') ?? '')?.[1];
  const name = nameFromPath ?? selected;
  let verb = VERBS[r.method] ?? 'get';
  if (r.method === 'GET' && !nameFromPath) {
    const watch = r.query.get('watch');
    verb = watch === 'true' || watch === '1' ? 'watch' : 'list';
  }
  if (r.method === 'DELETE' && !nameFromPath) verb = 'deletecollection';
  return {
    kind: 'resource',
    verb,
    group,
    resource: sub ? `${resource}/${sub}` : resource,
    ...(namespace ? { namespace } : {}),
    ...(name ? { name } : {}),
  };
}

/** Whether one rule grants the request (RBAC's RuleAllows). */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!rule.verbs.includes(a.verb)) return false;
  if (a.kind === 'nonResource') return (rule.nonResourceURLs ?? []).includes(a.path);
  return (
    (rule.apiGroups ?? []).includes(a.group) &&
    (rule.resources ?? []).includes(a.resource) &&
    (!rule.resourceNames?.length || (a.name !== undefined && rule.resourceNames.includes(a.name)))
  );
}

/** A rule's grants one by one: "verb group/resource" (or "verb /url"), for comparisons. */
export function grantsOf(rule: PolicyRule): string[] {
  if (rule.nonResourceURLs)
    return rule.nonResourceURLs.flatMap((u) => rule.verbs.map((v) => `${v} ${u}`));
  return (rule.apiGroups ?? []).flatMap((g) =>
    (rule.resources ?? []).flatMap((r) => rule.verbs.map((v) => `${v} ${g ? `${g}/` : ''}${r}`)),
  );
}

export const grantOf = (a: Attributes): string =>
  a.kind === 'nonResource'
    ? `${a.verb} ${a.path}`
    : `${a.verb} ${a.group ? `${a.group}/` : ''}${a.resource}`;
