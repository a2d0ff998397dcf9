// A minimal /openapi/v3: one document per group-version listing the PATCH operation of
// every resource with its fieldValidation parameter. That is what kubectl reads to learn
// the server validates fields itself (it then sends fieldValidation=Strict instead of
// validating client-side against a full schema). /openapi/v2 is an empty Swagger document:
// kubectl falls back to it for kinds without PATCH (TokenReview) and, finding no schema
// there, leaves their validation to the server as well.
import { createHash } from 'node:crypto';
import type { Registry } from './registry.ts';
import type { ResourceType } from './resources.ts';

function gvPath(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`;
}

function byGroupVersion(registry: Registry): Map<string, ResourceType[]> {
  const out = new Map<string, ResourceType[]>();
  for (const t of registry.all()) out.set(gvPath(t), [...(out.get(gvPath(t)) ?? []), t]);
  return out;
}

function gvDocument(types: ResourceType[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const t of types) {
    if (!t.verbs.includes('patch')) continue;
    const scope = t.namespaced ? '/namespaces/{namespace}' : '';
    paths[`/${gvPath(t)}${scope}/${t.resource}/{name}`] = {
      patch: {
        operationId: `patch${t.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: t.group, version: t.version, kind: t.kind },
        parameters: ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
          name,
          in: 'query',
          schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
        })),
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.35.0' },
    paths,
    components: { schemas: {} },
  };
}

const hashOf = (doc: unknown) =>
  createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();

/** The document for `path` ("openapi/v3" or "openapi/v3/apis/g/v"), or undefined (404). */
export function openAPIDocument(registry: Registry, path: string): unknown {
  if (!path.startsWith('openapi/v3')) return undefined;
  const groups = byGroupVersion(registry);
  if (path === 'openapi/v3') {
    const paths: Record<string, unknown> = {};
    for (const [gv, types] of groups) {
      paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${hashOf(gvDocument(types))}` };
    }
    return { paths };
  }
  const types = groups.get(path.slice('openapi/v3/'.length));
  return types ? gvDocument(types) : undefined;
}

/** The /openapi/v2 document: Swagger 2.0 with no paths or definitions. */
export const OPENAPI_V2 = {
  swagger: '2.0',
  info: { title: 'Kubernetes', version: 'v1.35.0' },
  paths: {},
  definitions: {},
};

/** What kubectl asks /openapi/v2 for: gnostic's openapi.v2.Document in protobuf. */
export const OPENAPI_V2_PROTOBUF_TYPE =
  'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** One length-delimited protobuf field (wire type 2); our payloads stay under 128 bytes. */
function field(number: number, payload: Buffer): Buffer {
  if (payload.length > 127) throw new Error('openapi v2 field too long for a one-byte length');
  return Buffer.concat([Buffer.from([(number << 3) | 2, payload.length]), payload]);
}

/** OPENAPI_V2 encoded as openapi.v2.Document: swagger = 1, info = 2 (title = 1, version = 2). */
export function openAPIV2Protobuf(): Buffer {
  const info = Buffer.concat([
    field(1, Buffer.from(OPENAPI_V2.info.title)),
    field(2, Buffer.from(OPENAPI_V2.info.version)),
  ]);
  return Buffer.concat([field(1, Buffer.from(OPENAPI_V2.swagger)), field(2, info)]);
}
