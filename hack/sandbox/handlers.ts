// The HTTP face of the sandbox: authenticates, authorizes, routes each request to
// discovery or to a verb on a resource, and writes kube-shaped replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FieldValidation, ObjectAPI, WriteContext } from './api.ts';
import {
  AGGREGATED_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregated,
} from './discovery.ts';
import { errors, groupResource, statusObject } from './errors.ts';
import {
  decodeBody,
  mediaType,
  readBody,
  sendError,
  sendJSON,
  sendRaw,
  setWarnings,
} from './http.ts';
import { Lister } from './list.ts';
import {
  OPENAPI_V2,
  OPENAPI_V2_PROTOBUF_TYPE,
  openAPIDocument,
  openAPIV2Protobuf,
} from './openapi.ts';
import { jsonMergePatch, jsonPatch, strategicMergePatch } from './patch.ts';
import { apiVersionOf, type ResourceType, resourceKey } from './resources.ts';
import { parseRequest } from './router.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import type { IncludeObject } from './tables.ts';
import { columnDefinitions, table, tableRow } from './tables.ts';
import type { TokenAuthority } from './tokens.ts';
import type { KubeObject, UserInfo } from './types.ts';
import { ANONYMOUS, authorizeNonResource } from './users.ts';
import { isRecord } from './util.ts';
import { serveWatch } from './watch.ts';

export interface HandlerOptions {
  serverAddress: string;
}

const JWKS_TYPE = 'application/jwk-set+json';

/** Whether an Accept header admits `type` (no header admits anything). */
function accepts(accept: string | undefined, type: string): boolean {
  if (!accept) return true;
  const [major] = type.split('/');
  return accept
    .split(',')
    .map((range) => range.split(';')[0]?.trim().toLowerCase())
    .some((range) => range === type || range === '*/*' || range === `${major}/*`);
}

type ResourceInfo = Extract<ReturnType<typeof parseRequest>, { type: 'resource' }>;

const BUILTIN_VERSION = {
  major: '1',
  minor: '35',
  gitVersion: 'v1.35.0-trustgate-sandbox',
  gitCommit: 'sandbox',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'node',
  compiler: 'node',
  platform: 'linux/amd64',
};

export class Handlers {
  private readonly api: ObjectAPI;
  private readonly tokens: TokenAuthority;
  private readonly opts: HandlerOptions;
  private readonly lister: Lister;

  constructor(api: ObjectAPI, tokens: TokenAuthority, opts: HandlerOptions) {
    this.api = api;
    this.tokens = tokens;
    this.opts = opts;
    this.lister = new Lister(api.store);
  }

  async handle(req: IncomingMessage, res: ServerResponse) {
    const warnings: string[] = [];
    try {
      const url = new URL(req.url ?? '/', 'https://sandbox');
      const q = url.searchParams;
      const info = parseRequest(
        req.method ?? 'GET',
        url.pathname,
        q.get('watch') === 'true' || q.get('watch') === '1',
      );
      const user = await this.authenticate(req);
      if (info.type !== 'resource') {
        const denied = authorizeNonResource(
          user,
          (req.method ?? 'GET').toLowerCase(),
          url.pathname,
        );
        if (denied) throw errors.forbidden(denied, {});
      }
      if (info.type === 'public') return this.servePublic(info.path, req, res);
      if (info.type === 'notFound') throw errors.pathNotFound();
      if (info.type === 'discovery') return this.serveDiscovery(info, req, res);
      await this.serveResource(info, q, req, res, user, warnings);
    } catch (err) {
      setWarnings(res, warnings);
      sendError(res, err);
    }
  }

  /** A bearer token that does not authenticate is a 401; no credentials at all, anonymous. */
  private async authenticate(req: IncomingMessage): Promise<UserInfo> {
    const header = req.headers.authorization;
    if (header === undefined) return { ...ANONYMOUS, groups: [...ANONYMOUS.groups] };
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const user = m?.[1] ? await this.tokens.authenticate(m[1]) : null;
    if (!user) throw errors.unauthorized();
    return user;
  }

  private servePublic(path: string, req: IncomingMessage, res: ServerResponse) {
    if (path === 'version') return sendJSON(res, 200, BUILTIN_VERSION);
    if (['healthz', 'livez', 'readyz'].includes(path)) return sendRaw(res, 200, 'ok', 'text/plain');
    if (path === 'openid/v1/jwks') {
      // kube serves the key set only as what it is: Accept: application/json gets a 406.
      if (!accepts(req.headers.accept, JWKS_TYPE)) {
        throw errors.notAcceptable(
          `406: Not Acceptable\n\nAvailable representations: ${JWKS_TYPE}`,
        );
      }
      return sendJSON(res, 200, this.tokens.jwks(), JWKS_TYPE);
    }
    if (path === '.well-known/openid-configuration') {
      return sendJSON(res, 200, this.tokens.openIDConfiguration());
    }
    if (path === 'openapi/v2') {
      if ((req.headers.accept ?? '').includes('protobuf')) {
        return sendRaw(res, 200, openAPIV2Protobuf(), OPENAPI_V2_PROTOBUF_TYPE);
      }
      return sendJSON(res, 200, OPENAPI_V2);
    }
    const doc = openAPIDocument(this.api.registry, path);
    if (doc === undefined) throw errors.pathNotFound();
    return sendJSON(res, 200, doc);
  }

  private serveDiscovery(
    info: Extract<ReturnType<typeof parseRequest>, { type: 'discovery' }>,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    const registry = this.api.registry;
    const aggregated = wantsAggregated(req.headers.accept);
    let body: unknown;
    switch (info.path) {
      case 'api':
        if (aggregated)
          return sendJSON(res, 200, aggregatedDiscovery(registry, true), AGGREGATED_CONTENT_TYPE);
        body = apiVersions(this.opts.serverAddress);
        break;
      case 'apis':
        if (aggregated)
          return sendJSON(res, 200, aggregatedDiscovery(registry, false), AGGREGATED_CONTENT_TYPE);
        body = apiGroupList(registry);
        break;
      case 'group':
        body = apiGroup(registry, info.group);
        break;
      default:
        body = apiResourceList(registry, info.group, info.version);
    }
    if (body === undefined) throw errors.pathNotFound();
    sendJSON(res, 200, body);
  }

  private authorize(user: UserInfo, info: ResourceInfo) {
    const reason = this.tokens.authorize(user, {
      verb: info.verb,
      group: info.group,
      resource: info.resource,
      subresource: info.subresource,
      namespace: info.namespace,
      name: info.name,
    });
    if (reason === null) return;
    const what = info.name
      ? `${groupResource(info.group, info.resource)} "${info.name}"`
      : groupResource(info.group, info.resource);
    throw errors.forbidden(`${what} is forbidden: ${reason}`, {
      name: info.name,
      group: info.group,
      kind: info.resource,
    });
  }

  private async serveResource(
    info: ResourceInfo,
    q: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    user: UserInfo,
    warnings: string[],
  ) {
    const t = this.api.registry.lookup(info.group, info.version, info.resource);
    if (!t || (!t.namespaced && info.namespace && info.resource !== 'namespaces'))
      throw errors.pathNotFound();
    if (info.subresource && !t.subresources[info.subresource]) throw errors.pathNotFound();
    const allowed = info.subresource ? (t.subresources[info.subresource]?.verbs ?? []) : t.verbs;
    if (!allowed.includes(info.verb)) throw errors.methodNotAllowed(req.method ?? '');
    if (
      t.namespaced &&
      !info.namespace &&
      ['create', 'update', 'patch', 'delete', 'get'].includes(info.verb)
    ) {
      throw errors.pathNotFound();
    }
    this.authorize(user, info);
    const wctx: WriteContext = {
      user,
      dryRun: parseDryRun(q),
      fieldValidation: parseFieldValidation(q),
      warnings,
    };
    const ns = info.namespace;
    const reply = (code: number, body: unknown) => {
      setWarnings(res, warnings);
      sendJSON(res, code, body);
    };
    switch (info.verb) {
      case 'get':
        return this.get(t, info, q, req, res);
      case 'list':
        return this.list(t, ns, q, req, res);
      case 'watch':
        return this.watch(t, ns, q, req, res);
      case 'create': {
        const body = await this.body(req);
        wctx.options = typedOptions('CreateOptions', q);
        return reply(201, await this.create(t, info, body, wctx));
      }
      case 'update': {
        const body = await this.body(req);
        wctx.options = typedOptions('UpdateOptions', q);
        return reply(200, await this.update(t, info, body, wctx));
      }
      case 'patch': {
        wctx.options = typedOptions('PatchOptions', q);
        return reply(200, await this.patch(t, info, q, req, wctx));
      }
      case 'delete': {
        const options = await this.deleteOptions(req, q);
        wctx.options = asTypedDeleteOptions(options);
        wctx.dryRun ||= Array.isArray(options.dryRun) && options.dryRun.includes('All');
        const { object, gone } = await this.api.delete(t, ns, info.name, options, wctx);
        const returnsObject = t.group !== '' || t.resource === 'pods' || !gone;
        return reply(
          200,
          returnsObject
            ? object
            : // kube's delete Status: no code, and no group for the core group.
              {
                kind: 'Status',
                apiVersion: 'v1',
                metadata: {},
                status: 'Success',
                details: { name: info.name, kind: t.resource, uid: object.metadata.uid },
              },
        );
      }
      case 'deletecollection': {
        const options = await this.deleteOptions(req, q);
        wctx.options = asTypedDeleteOptions(options);
        const page = this.lister.list(this.listRequest(t, ns, q, false));
        const items: KubeObject[] = [];
        for (const e of page.entries) {
          items.push((await this.api.delete(t, e.namespace, e.name, options, wctx)).object);
        }
        return reply(200, { kind: t.listKind, apiVersion: apiVersionOf(t), metadata: {}, items });
      }
    }
    throw errors.methodNotAllowed(req.method ?? '');
  }

  private async body(req: IncomingMessage): Promise<KubeObject> {
    const type = mediaType(req);
    if (
      !['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf', ''].includes(
        type,
      )
    )
      throw errors.unsupportedMediaType(type);
    const parsed = decodeBody(await readBody(req), type);
    if (!isRecord(parsed)) throw errors.badRequest('the body of the request must be a JSON object');
    if (parsed.metadata === undefined) parsed.metadata = {};
    if (!isRecord(parsed.metadata)) throw errors.badRequest('metadata must be an object');
    return parsed as KubeObject;
  }

  private async deleteOptions(
    req: IncomingMessage,
    q: URLSearchParams,
  ): Promise<Record<string, unknown>> {
    const raw = await readBody(req);
    let options: Record<string, unknown> = {};
    if (raw.length > 0 && raw.toString().trim() !== '') {
      const parsed = decodeBody(raw, mediaType(req));
      if (!isRecord(parsed)) throw errors.badRequest('DeleteOptions must be a JSON object');
      options = parsed;
    }
    const grace = q.get('gracePeriodSeconds');
    if (grace !== null) {
      const n = Number(grace);
      if (!Number.isInteger(n)) throw errors.badRequest(`invalid gracePeriodSeconds: ${grace}`);
      options.gracePeriodSeconds = n;
    }
    const policy = q.get('propagationPolicy');
    if (policy !== null) options.propagationPolicy = policy;
    if (
      options.propagationPolicy !== undefined &&
      !['Orphan', 'Background', 'Foreground'].includes(String(options.propagationPolicy))
    ) {
      throw errors.invalid('meta.k8s.io', 'DeleteOptions', '', [
        {
          reason: 'FieldValueNotSupported',
          field: 'propagationPolicy',
          message: `Unsupported value: "${String(options.propagationPolicy)}": supported values: "Foreground", "Background", "Orphan", "nil"`,
        },
      ]);
    }
    if (parseDryRun(q)) options.dryRun = ['All'];
    return options;
  }

  private wantsTable(req: IncomingMessage): boolean {
    const accept = req.headers.accept ?? '';
    const first = accept.split(',')[0] ?? '';
    if (first.includes('as=Table')) return true;
    if (accept && !/application\/json|\*\/\*|application\/yaml/.test(accept)) {
      throw errors.notAcceptable(
        'only the following media types are accepted: application/json, application/yaml',
      );
    }
    return false;
  }

  private get(
    t: ResourceType,
    info: ResourceInfo,
    q: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    const obj = this.api.read(t, info.namespace, info.name);
    if (!info.subresource && this.wantsTable(req)) {
      return sendJSON(
        res,
        200,
        table(t, [obj], includeObject(q), { resourceVersion: obj.metadata.resourceVersion }),
      );
    }
    sendJSON(res, 200, obj);
  }

  private listRequest(t: ResourceType, ns: string, q: URLSearchParams, paged = true) {
    const limit = q.get('limit');
    return {
      resourceKey: resourceKey(t.group, t.resource),
      namespace: ns || undefined,
      labels: parseLabelSelector(q.get('labelSelector') ?? undefined),
      fields: parseFieldSelector(
        q.get('fieldSelector') ?? undefined,
        Object.keys(selectableFieldNames(t)),
      ),
      limit: paged && limit ? Number.parseInt(limit, 10) : undefined,
      continueToken: paged ? (q.get('continue') ?? undefined) : undefined,
    };
  }

  private list(
    t: ResourceType,
    ns: string,
    q: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    const page = this.lister.list(this.listRequest(t, ns, q));
    const meta: Record<string, unknown> = { resourceVersion: page.resourceVersion };
    if (page.continueToken) meta.continue = page.continueToken;
    if (page.remainingItemCount !== undefined) meta.remainingItemCount = page.remainingItemCount;
    if (this.wantsTable(req)) {
      const objects = page.entries.map((e) => JSON.parse(e.json) as KubeObject);
      return sendJSON(res, 200, table(t, objects, includeObject(q), meta));
    }
    const head = JSON.stringify({ kind: t.listKind, apiVersion: apiVersionOf(t), metadata: meta });
    // Items are stored serialized: the list is assembled without re-encoding any object.
    sendRaw(
      res,
      200,
      `${head.slice(0, -1)},"items":[${page.entries.map((e) => e.json).join(',')}]}`,
    );
  }

  private watch(
    t: ResourceType,
    ns: string,
    q: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
  ) {
    const r = this.listRequest(t, ns, q, false);
    const asTable = this.wantsTable(req);
    const timeout = Number(q.get('timeoutSeconds') ?? '');
    const include = includeObject(q);
    const initialEvents = q.get('sendInitialEvents') === 'true';
    if (initialEvents && q.get('resourceVersionMatch') !== 'NotOlderThan') {
      throw errors.invalid('meta.k8s.io', 'ListOptions', '', [
        {
          reason: 'FieldValueForbidden',
          field: 'resourceVersionMatch',
          message:
            'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
        },
      ]);
    }
    serveWatch(this.api.store, res, {
      resourceKey: r.resourceKey,
      kind: t.kind,
      apiVersion: apiVersionOf(t),
      namespace: r.namespace,
      labels: r.labels,
      fields: r.fields,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      timeoutSeconds: Number.isFinite(timeout) && timeout > 0 ? timeout : 1800,
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      initialEvents,
      ...(asTable
        ? {
            render: (json: string, first: boolean) => {
              const obj = JSON.parse(json) as KubeObject;
              if (obj.kind !== t.kind) return json; // bookmarks stay plain
              return JSON.stringify({
                kind: 'Table',
                apiVersion: 'meta.k8s.io/v1',
                metadata: { resourceVersion: obj.metadata.resourceVersion },
                columnDefinitions: first ? columnDefinitions(t) : [],
                rows: [tableRow(t, obj, include)],
              });
            },
          }
        : {}),
    });
  }

  private async create(
    t: ResourceType,
    info: ResourceInfo,
    body: KubeObject,
    wctx: WriteContext,
  ): Promise<unknown> {
    const ns = info.namespace;
    switch (info.subresource) {
      case '':
        if (t.resource === 'bindings') {
          const pods = this.api.registry.lookup('', 'v1', 'pods');
          if (!pods) throw errors.pathNotFound();
          const name = body.metadata.name ?? '';
          return this.bind(
            pods,
            { ...info, resource: 'pods', name, subresource: 'binding' },
            body,
            wctx,
          );
        }
        if (t.resource === 'tokenreviews') {
          await this.api.admit(t, 'CREATE', '', body, null, '', '', wctx);
          return this.tokens.reviewToken(body);
        }
        return this.api.create(t, ns, body, wctx);
      case 'binding':
        return this.bind(t, info, body, wctx);
      case 'eviction':
        return this.evict(t, info, body, wctx);
      case 'token': {
        const sa = this.api.read(t, ns, info.name);
        const kind = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
        const request = this.tokens.prepareTokenRequest(sa, {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          ...body,
        });
        await this.api.admit(t, 'CREATE', 'token', request, null, info.name, ns, wctx, kind);
        if (wctx.dryRun) return request;
        return this.tokens.createToken(sa, request);
      }
    }
    throw errors.methodNotAllowed('POST');
  }

  private async bind(
    t: ResourceType,
    info: ResourceInfo,
    body: KubeObject,
    wctx: WriteContext,
  ): Promise<unknown> {
    const pod = this.api.read(t, info.namespace, info.name);
    const target = isRecord(body.target) ? body.target : {};
    if (typeof target.name !== 'string' || !target.name) {
      throw errors.invalid('', 'Binding', info.name, [
        { reason: 'FieldValueRequired', field: 'target.name', message: 'Required value' },
      ]);
    }
    const binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      ...body,
      metadata: { ...body.metadata, name: info.name, namespace: info.namespace },
    };
    await this.api.admit(t, 'CREATE', 'binding', binding, null, info.name, info.namespace, wctx, {
      group: '',
      version: 'v1',
      kind: 'Binding',
    });
    const spec = isRecord(pod.spec) ? pod.spec : {};
    const why = pod.metadata.deletionTimestamp
      ? `pod ${info.name} is being deleted, cannot be assigned to a host`
      : spec.nodeName
        ? `pod ${info.name} is already assigned to node "${String(spec.nodeName)}"`
        : undefined;
    if (why) throw errors.conflict('', 'pods/binding', info.name, why);
    if (!wctx.dryRun) {
      const next = structuredClone(pod);
      next.spec = { ...spec, nodeName: target.name };
      const status = isRecord(next.status) ? next.status : {};
      const conditions = (Array.isArray(status.conditions) ? status.conditions : []).filter(
        (c) => !(isRecord(c) && c.type === 'PodScheduled'),
      );
      conditions.push({
        type: 'PodScheduled',
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      });
      next.status = { ...status, conditions };
      this.api.writeInternal(t, next);
    }
    return statusObject(201, '', '');
  }

  private async evict(
    t: ResourceType,
    info: ResourceInfo,
    body: KubeObject,
    wctx: WriteContext,
  ): Promise<unknown> {
    this.api.read(t, info.namespace, info.name);
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', ...body };
    await this.api.admit(t, 'CREATE', 'eviction', eviction, null, info.name, info.namespace, wctx, {
      group: 'policy',
      version: 'v1',
      kind: 'Eviction',
    });
    const options = isRecord(body.deleteOptions) ? body.deleteOptions : {};
    await this.api.delete(t, info.namespace, info.name, options, { ...wctx, options: null });
    return statusObject(201, '', '');
  }

  private async update(
    t: ResourceType,
    info: ResourceInfo,
    body: KubeObject,
    wctx: WriteContext,
  ): Promise<KubeObject> {
    if (info.subresource === 'ephemeralcontainers') {
      const old = this.api.read(t, info.namespace, info.name);
      return this.api.update(
        t,
        info.namespace,
        info.name,
        onlyEphemeral(old, body),
        wctx,
        'ephemeralcontainers',
      );
    }
    return this.api.update(t, info.namespace, info.name, body, wctx, info.subresource);
  }

  private async patch(
    t: ResourceType,
    info: ResourceInfo,
    q: URLSearchParams,
    req: IncomingMessage,
    wctx: WriteContext,
  ): Promise<KubeObject> {
    const type = mediaType(req);
    const known = [
      'application/json-patch+json',
      'application/merge-patch+json',
      'application/strategic-merge-patch+json',
      'application/apply-patch+yaml',
    ];
    if (
      !known.includes(type) ||
      (type === 'application/strategic-merge-patch+json' && !t.strategies)
    ) {
      throw errors.unsupportedMediaType(type);
    }
    const patch = decodeBody(await readBody(req), type);
    const ns = info.namespace;
    if (type === 'application/apply-patch+yaml') {
      if (!q.get('fieldManager'))
        throw errors.badRequest(
          'PATCH, application/apply-patch+yaml requests must have a fieldManager',
        );
      if (!isRecord(patch)) throw errors.badRequest('the applied configuration must be an object');
      const existing = this.api.tryRead(t, ns, info.name);
      if (!existing && !info.subresource) {
        return this.api.create(
          t,
          ns,
          {
            ...(patch as KubeObject),
            metadata: { ...(isRecord(patch.metadata) ? patch.metadata : {}), name: info.name },
          },
          wctx,
        );
      }
    }
    const old = this.api.read(t, ns, info.name);
    let patched: unknown;
    if (type === 'application/json-patch+json') patched = jsonPatch(old, patch);
    else if (type === 'application/merge-patch+json') patched = jsonMergePatch(old, patch);
    else if (t.strategies) patched = strategicMergePatch(old, patch, t.strategies);
    else patched = jsonMergePatch(old, patch);
    if (!isRecord(patched) || !isRecord(patched.metadata)) {
      throw errors.badRequest('the patch produced something that is not an object with metadata');
    }
    const next = patched as KubeObject;
    if (info.subresource === 'ephemeralcontainers') {
      return this.api.update(
        t,
        ns,
        info.name,
        onlyEphemeral(old, next),
        wctx,
        'ephemeralcontainers',
      );
    }
    return this.api.update(t, ns, info.name, next, wctx, info.subresource);
  }
}

function onlyEphemeral(old: KubeObject, body: KubeObject): KubeObject {
  const next = structuredClone(old);
  const spec = isRecord(body.spec) ? body.spec : {};
  next.spec = {
    ...(isRecord(old.spec) ? old.spec : {}),
    ephemeralContainers: spec.ephemeralContainers,
  };
  if (body.metadata?.resourceVersion) next.metadata.resourceVersion = body.metadata.resourceVersion;
  return next;
}

function selectableFieldNames(t: ResourceType): Record<string, true> {
  const names: Record<string, true> = { 'metadata.name': true };
  if (t.namespaced) names['metadata.namespace'] = true;
  for (const f of Object.keys(t.extraFields)) names[f] = true;
  return names;
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function parseDryRun(q: URLSearchParams): boolean {
  const values = q.getAll('dryRun');
  for (const v of values)
    if (v !== 'All')
      throw errors.badRequest(`Invalid dry run value: ${v}; valid values are: "All"`);
  return values.length > 0;
}

function parseFieldValidation(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Ignore' || v === 'Warn' || v === 'Strict') return v;
  throw errors.badRequest(
    `fieldValidation parameter unsupported: ${v}. Supported values: Ignore, Warn, Strict`,
  );
}

function typedOptions(kind: string, q: URLSearchParams): KubeObject {
  const options: KubeObject = { apiVersion: 'meta.k8s.io/v1', kind, metadata: {} };
  const manager = q.get('fieldManager');
  if (manager) options.fieldManager = manager;
  if (q.getAll('dryRun').length) options.dryRun = q.getAll('dryRun');
  return options;
}

/** DeleteOptions as AdmissionReview carries them in request.options. */
function asTypedDeleteOptions(options: Record<string, unknown>): KubeObject {
  return { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', metadata: {}, ...options };
}
