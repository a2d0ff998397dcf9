// kubectl's typed clients (create token, create configmap/secret/namespace/serviceaccount,
// drain's evictions) send request bodies as Kubernetes protobuf, with no JSON fallback.
// This decodes that envelope ("k8s\0" + runtime.Unknown) for those few kinds into the
// JSON form the rest of the sandbox works with. Responses are always JSON.
import { errors } from './errors.ts';

type FieldType =
  | 'string'
  | 'bytes'
  | 'int'
  | 'bool'
  | { message: Schema }
  | { map: ['string', 'string' | 'bytes'] };
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
type Schema = Record<number, Field>;

const f = (name: string, type: FieldType, repeated = false): Field => ({ name, type, repeated });

const OWNER_REF: Schema = {
  1: f('kind', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
  6: f('controller', 'bool'),
  7: f('blockOwnerDeletion', 'bool'),
};
const OBJECT_META: Schema = {
  1: f('name', 'string'),
  2: f('generateName', 'string'),
  3: f('namespace', 'string'),
  5: f('uid', 'string'),
  6: f('resourceVersion', 'string'),
  11: f('labels', { map: ['string', 'string'] }),
  12: f('annotations', { map: ['string', 'string'] }),
  13: f('ownerReferences', { message: OWNER_REF }, true),
  14: f('finalizers', 'string', true),
};
const meta = f('metadata', { message: OBJECT_META });

const KINDS: Record<string, Schema> = {
  TokenRequest: {
    1: meta,
    2: f('spec', {
      message: {
        1: f('audiences', 'string', true),
        3: f('boundObjectRef', {
          message: {
            1: f('kind', 'string'),
            2: f('apiVersion', 'string'),
            3: f('name', 'string'),
            4: f('uid', 'string'),
          },
        }),
        4: f('expirationSeconds', 'int'),
      },
    }),
  },
  ConfigMap: {
    1: meta,
    2: f('data', { map: ['string', 'string'] }),
    3: f('binaryData', { map: ['string', 'bytes'] }),
    4: f('immutable', 'bool'),
  },
  Secret: {
    1: meta,
    2: f('data', { map: ['string', 'bytes'] }),
    3: f('type', 'string'),
    4: f('stringData', { map: ['string', 'string'] }),
    5: f('immutable', 'bool'),
  },
  Namespace: { 1: meta, 2: f('spec', { message: { 1: f('finalizers', 'string', true) } }) },
  ServiceAccount: {
    1: meta,
    2: f(
      'secrets',
      {
        message: {
          1: f('kind', 'string'),
          2: f('namespace', 'string'),
          3: f('name', 'string'),
          4: f('uid', 'string'),
          5: f('apiVersion', 'string'),
        },
      },
      true,
    ),
    3: f('imagePullSecrets', { message: { 1: f('name', 'string') } }, true),
    4: f('automountServiceAccountToken', 'bool'),
  },
  Eviction: {
    1: meta,
    2: f('deleteOptions', {
      message: {
        1: f('gracePeriodSeconds', 'int'),
        2: f('preconditions', {
          message: { 1: f('uid', 'string'), 2: f('resourceVersion', 'string') },
        }),
        4: f('propagationPolicy', 'string'),
        5: f('dryRun', 'string', true),
      },
    }),
  },
};

class Reader {
  pos = 0;
  readonly buf: Buffer;
  readonly end: number;
  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  varint(): number {
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw errors.badRequest('truncated protobuf varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * shift;
      if (b < 0x80) return result;
      shift *= 128;
    }
    throw errors.badRequest('malformed protobuf varint');
  }
  bytes(): Buffer {
    const len = this.varint();
    if (this.pos + len > this.end) throw errors.badRequest('truncated protobuf field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw errors.badRequest(`unsupported protobuf wire type ${wire}`);
  }
}

function scalar(type: 'string' | 'bytes', raw: Buffer): string {
  return type === 'string' ? raw.toString('utf8') : raw.toString('base64');
}

function decodeMessage(buf: Buffer, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = schema[Math.floor(tag / 8)];
    const wire = tag % 8;
    if (!field) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    const t = field.type;
    if (t === 'int') value = r.varint();
    else if (t === 'bool') value = r.varint() !== 0;
    else if (t === 'string' || t === 'bytes') value = scalar(t, r.bytes());
    else if ('message' in t) value = decodeMessage(r.bytes(), t.message);
    else {
      const entry = new Reader(r.bytes());
      let key = '';
      let val = '';
      while (entry.pos < entry.end) {
        const etag = entry.varint();
        if (etag === 10) key = entry.bytes().toString('utf8');
        else if (etag === 18) val = scalar(t.map[1], entry.bytes());
        else entry.skip(etag % 8);
      }
      const map = (out[field.name] ?? {}) as Record<string, string>;
      map[key] = val;
      out[field.name] = map;
      continue;
    }
    // gogo-protobuf writes empty strings for unset fields; JSON omits them.
    if (value === '' && !field.repeated) continue;
    if (field.repeated) out[field.name] = [...((out[field.name] as unknown[]) ?? []), value];
    else out[field.name] = value;
  }
  return out;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a Kubernetes protobuf request body into the object's JSON form. */
export function decodeKubeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    throw errors.badRequest('the protobuf body does not start with the Kubernetes envelope');
  }
  const unknown = decodeMessage(body.subarray(4), {
    1: f('typeMeta', { message: { 1: f('apiVersion', 'string'), 2: f('kind', 'string') } }),
    2: f('raw', 'bytes'),
  });
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const schema = KINDS[typeMeta.kind ?? ''];
  if (!schema) {
    throw errors.unsupportedMediaType(
      `application/vnd.kubernetes.protobuf (kind ${typeMeta.kind ?? 'unknown'})`,
    );
  }
  const raw = Buffer.from(String(unknown.raw ?? ''), 'base64');
  return { apiVersion: typeMeta.apiVersion, kind: typeMeta.kind, ...decodeMessage(raw, schema) };
}
