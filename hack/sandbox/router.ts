// Turns a request path into kube's RequestInfo: discovery or a resource request with
// group, version, namespace, resource, name, subresource and verb.

export type RequestInfo =
  | { type: 'public'; path: string }
  | {
      type: 'discovery';
      path: 'api' | 'apis' | 'group' | 'groupVersion' | 'apiVersion';
      group: string;
      version: string;
    }
  | {
      type: 'resource';
      verb: string;
      group: string;
      version: string;
      namespace: string;
      resource: string;
      name: string;
      subresource: string;
    }
  | { type: 'notFound' };

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function parseRequest(method: string, pathname: string, watchParam: boolean): RequestInfo {
  const parts = pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  if (
    ['version', 'healthz', 'livez', 'readyz', 'openapi', 'openid', '.well-known'].includes(
      parts[0] ?? '',
    )
  ) {
    return { type: 'public', path: parts.join('/') };
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api') {
    if (parts.length === 1) return { type: 'discovery', path: 'api', group: '', version: '' };
    group = '';
    version = parts[1] ?? '';
    rest = parts.slice(2);
    if (rest.length === 0) return { type: 'discovery', path: 'apiVersion', group, version };
  } else if (parts[0] === 'apis') {
    if (parts.length === 1) return { type: 'discovery', path: 'apis', group: '', version: '' };
    group = parts[1] ?? '';
    if (parts.length === 2) return { type: 'discovery', path: 'group', group, version: '' };
    version = parts[2] ?? '';
    rest = parts.slice(3);
    if (rest.length === 0) return { type: 'discovery', path: 'groupVersion', group, version };
  } else {
    return { type: 'notFound' };
  }
  let watch = watchParam;
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1] ?? '';
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  const [resource = '', name = '', subresource = '', ...extra] = rest;
  if (extra.length > 0 || resource === '') return { type: 'notFound' };
  // GET /api/v1/namespaces/foo names the namespace itself, not a namespace scope.
  if (resource === 'namespaces' && name) namespace = '';
  const verb = verbOf(method, name !== '', watch);
  if (!verb) return { type: 'notFound' };
  return { type: 'resource', verb, group, version, namespace, resource, name, subresource };
}

function verbOf(method: string, named: boolean, watch: boolean): string | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}
