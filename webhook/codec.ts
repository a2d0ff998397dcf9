// The AdmissionReview v1 codec: reading a request body into a typed AdmissionRequest, and
// building the response the API server expects. Pure functions; the HTTP layer
// (server.ts) only moves bytes. A body that is not a valid review becomes a
// ReviewDecodeError with a stable reason, never an exception of another kind.

export const REVIEW_API_VERSION = 'admission.k8s.io/v1';
export const REVIEW_KIND = 'AdmissionReview';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
const OPERATIONS: ReadonlySet<string> = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** The caller, as kube's authentication.k8s.io/v1 UserInfo. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionRequest {
  uid: string;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  subResource: string;
  name: string;
  namespace: string;
  operation: Operation;
  userInfo: UserInfo;
  object: Record<string, unknown> | null;
  oldObject: Record<string, unknown> | null;
  dryRun: boolean;
}

export type DecodeErrorReason =
  | 'InvalidJSON'
  | 'NotAnObject'
  | 'WrongAPIVersion'
  | 'WrongKind'
  | 'MissingRequest'
  | 'MissingUID'
  | 'InvalidField'
  | 'TooLarge'
  | 'UnsupportedMediaType';

/** A body that is not an AdmissionReview v1 request; `reason` is a stable code for metrics. */
export class ReviewDecodeError extends Error {
  readonly reason: DecodeErrorReason;
  constructor(reason: DecodeErrorReason, message: string) {
    super(message);
    this.name = 'ReviewDecodeError';
    this.reason = reason;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(field: string, what: string): never {
  throw new ReviewDecodeError('InvalidField', `request.${field} ${what}`);
}

function optString(r: Obj, field: string): string {
  const v = r[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') invalid(field, 'must be a string');
  return v;
}

function gvk(r: Obj, field: string, last: 'kind' | 'resource'): Obj {
  const v = r[field];
  if (!isObj(v)) invalid(field, 'must be an object');
  for (const key of ['group', 'version', last]) {
    const part = v[key];
    if (part !== undefined && typeof part !== 'string')
      invalid(`${field}.${key}`, 'must be a string');
  }
  if (typeof v[last] !== 'string' || v[last] === '') invalid(`${field}.${last}`, 'is required');
  return v;
}

function objectField(r: Obj, field: string): Obj | null {
  const v = r[field];
  if (v === undefined || v === null) return null;
  if (!isObj(v)) invalid(field, 'must be an object or null');
  return v;
}

function userInfo(r: Obj): UserInfo {
  const v = r.userInfo;
  if (v === undefined || v === null) return { username: '', groups: [] };
  if (!isObj(v)) invalid('userInfo', 'must be an object');
  const username = optString(v, 'username');
  const uid = v.uid === undefined ? undefined : optString(v, 'uid');
  const groups = v.groups ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) {
    invalid('userInfo.groups', 'must be a list of strings');
  }
  return { username, uid, groups: groups as string[] };
}

/** Parses JSON text (or an already-parsed value) into an AdmissionRequest, or throws ReviewDecodeError. */
export function decodeAdmissionReview(body: string | Buffer | unknown): AdmissionRequest {
  let review: unknown = body;
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      review = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    } catch (err) {
      throw new ReviewDecodeError(
        'InvalidJSON',
        `body is not JSON: ${err instanceof Error ? err.message : 'parse error'}`,
      );
    }
  }
  if (!isObj(review)) throw new ReviewDecodeError('NotAnObject', 'body is not a JSON object');
  if (review.apiVersion !== REVIEW_API_VERSION) {
    throw new ReviewDecodeError(
      'WrongAPIVersion',
      `apiVersion must be ${REVIEW_API_VERSION}, got ${JSON.stringify(review.apiVersion) ?? 'nothing'}`.slice(
        0,
        200,
      ),
    );
  }
  if (review.kind !== REVIEW_KIND) {
    throw new ReviewDecodeError(
      'WrongKind',
      `kind must be ${REVIEW_KIND}, got ${JSON.stringify(review.kind) ?? 'nothing'}`.slice(0, 200),
    );
  }
  const r = review.request;
  if (!isObj(r)) throw new ReviewDecodeError('MissingRequest', 'request is missing');
  if (typeof r.uid !== 'string' || r.uid === '') {
    throw new ReviewDecodeError('MissingUID', 'request.uid is missing');
  }
  const kind = gvk(r, 'kind', 'kind');
  const resource = gvk(r, 'resource', 'resource');
  const operation = r.operation;
  if (typeof operation !== 'string' || !OPERATIONS.has(operation)) {
    invalid('operation', 'must be one of CREATE, UPDATE, DELETE, CONNECT');
  }
  if (r.dryRun !== undefined && r.dryRun !== null && typeof r.dryRun !== 'boolean') {
    invalid('dryRun', 'must be a boolean');
  }
  return {
    uid: r.uid,
    kind: {
      group: (kind.group as string) ?? '',
      version: (kind.version as string) ?? '',
      kind: kind.kind as string,
    },
    resource: {
      group: (resource.group as string) ?? '',
      version: (resource.version as string) ?? '',
      resource: resource.resource as string,
    },
    subResource: optString(r, 'subResource'),
    name: optString(r, 'name'),
    namespace: optString(r, 'namespace'),
    operation: operation as Operation,
    userInfo: userInfo(r),
    object: objectField(r, 'object'),
    oldObject: objectField(r, 'oldObject'),
    dryRun: r.dryRun === true,
  };
}

/** A handler's answer, before it is written as an AdmissionReview response. */
export interface Verdict {
  allowed: boolean;
  /** HTTP-style code of a denial (403 policy, 422 invalid resource, 503 not ready). */
  code?: number;
  /** kube Status reason of a denial, e.g. Forbidden, Invalid, ServiceUnavailable. */
  statusReason?: string;
  /** Denial message: names policy, node or identity, and the failed requirement. */
  message?: string;
  /** Field causes of an Invalid denial (kube StatusCause). */
  causes?: { field: string; reason: string; message: string }[];
  warnings: string[];
  /** Keys without prefix: the API server prefixes them with the webhook name. */
  auditAnnotations: Record<string, string>;
  /** Policies that had something to say (for metrics and logs); empty when none governed. */
  policies: string[];
  /** Stable reason codes behind the verdict (for logs). */
  reasonCodes: string[];
  /** Exemptions that lifted a policy for an admitted request (logged and counted). */
  exempted?: { policy: string; exemption: string; reason: string }[];
}

/** kube limits: warnings are short single lines, and there should not be many. */
const MAX_WARNINGS = 16;
const MAX_WARNING_LENGTH = 1000;
const MAX_MESSAGE_LENGTH = 4000;

const oneLine = (s: string, max: number) => {
  const flat = s.replace(/[\r\n\t]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
};

/** The AdmissionReview v1 response for a request uid and a verdict. */
export function admissionResponse(uid: string, verdict: Verdict): Record<string, unknown> {
  const response: Obj = { uid, allowed: verdict.allowed };
  if (!verdict.allowed) {
    const status: Obj = {
      code: verdict.code ?? 403,
      reason: verdict.statusReason ?? 'Forbidden',
      message: oneLine(verdict.message ?? 'denied by trustgate', MAX_MESSAGE_LENGTH),
    };
    if (verdict.causes?.length) status.details = { causes: verdict.causes };
    response.status = status;
  }
  if (verdict.warnings.length > 0) {
    response.warnings = verdict.warnings
      .slice(0, MAX_WARNINGS)
      .map((w) => oneLine(w, MAX_WARNING_LENGTH));
  }
  if (Object.keys(verdict.auditAnnotations).length > 0) {
    response.auditAnnotations = verdict.auditAnnotations;
  }
  return { apiVersion: REVIEW_API_VERSION, kind: REVIEW_KIND, response };
}

/** The verdict of a request trustgate has nothing to say about. */
export function allow(extra: Partial<Verdict> = {}): Verdict {
  return {
    allowed: true,
    warnings: [],
    auditAnnotations: {},
    policies: [],
    reasonCodes: [],
    ...extra,
  };
}

export function deny(message: string, extra: Partial<Verdict> = {}): Verdict {
  return {
    allowed: false,
    code: 403,
    statusReason: 'Forbidden',
    message,
    warnings: [],
    auditAnnotations: {},
    policies: [],
    reasonCodes: [],
    ...extra,
  };
}
