// Kubernetes `Status` errors: every failure the sandbox returns is one of these, with
// kube-apiserver's reason, code and message wording.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  uid?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class StatusError extends Error {
  override name = 'StatusError';
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): Record<string, unknown> {
    return statusObject(this.code, this.reason, this.message, this.details);
  }
}

export function statusObject(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): Record<string, unknown> {
  const status: Record<string, unknown> = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: code < 400 ? 'Success' : 'Failure',
  };
  // A success Status carries no message or reason, as kube's do.
  if (message) status.message = message;
  if (reason) status.reason = reason;
  status.code = code;
  if (details) status.details = details;
  return status;
}

/** "pods" / "workloadgrants.trustgate.dev": how kube names a group-resource in messages. */
export function groupResource(group: string, resource: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const errors = {
  badRequest: (message: string) => new StatusError(400, 'BadRequest', message),
  unauthorized: () => new StatusError(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (message: string, details?: StatusDetails) =>
    new StatusError(403, 'Forbidden', message, details),
  notFound: (group: string, resource: string, name: string) =>
    new StatusError(404, 'NotFound', `${groupResource(group, resource)} "${name}" not found`, {
      name,
      group,
      kind: resource,
    }),
  /** Path that names no resource at all. */
  pathNotFound: () =>
    new StatusError(404, 'NotFound', 'the server could not find the requested resource'),
  methodNotAllowed: (method: string) =>
    new StatusError(
      405,
      'MethodNotAllowed',
      `the server does not allow this method on the requested resource (${method})`,
    ),
  notAcceptable: (message: string) => new StatusError(406, 'NotAcceptable', message),
  alreadyExists: (group: string, resource: string, name: string) =>
    new StatusError(
      409,
      'AlreadyExists',
      `${groupResource(group, resource)} "${name}" already exists`,
      {
        name,
        group,
        kind: resource,
      },
    ),
  conflict: (group: string, resource: string, name: string, why: string) =>
    new StatusError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${groupResource(group, resource)} "${name}": ${why}`,
      { name, group, kind: resource },
    ),
  staleUpdate: (group: string, resource: string, name: string) =>
    errors.conflict(
      group,
      resource,
      name,
      'the object has been modified; please apply your changes to the latest version and try again',
    ),
  gone: (message: string) => new StatusError(410, 'Gone', message),
  expired: (message: string) => new StatusError(410, 'Expired', message),
  tooLarge: () =>
    new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
  unsupportedMediaType: (type: string) =>
    new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml; got ${type}`,
    ),
  invalid: (group: string, kind: string, name: string, causes: StatusCause[]) =>
    new StatusError(
      422,
      'Invalid',
      `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${describeCauses(causes)}`,
      { name, group, kind, causes },
    ),
  patchNotApplicable: () =>
    new StatusError(
      422,
      'Invalid',
      'the server rejected our request due to an error in our request',
      {},
    ),
  internal: (message: string) =>
    new StatusError(500, 'InternalError', `Internal error occurred: ${message}`),
};

/** A kube field error ("spec.x: Required value") as a StatusCause. */
export function fieldError(reason: string, field: string, message: string): StatusCause {
  return { reason, field, message };
}

function describeCauses(causes: StatusCause[]): string {
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : (c.message ?? '')));
  return parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
}
