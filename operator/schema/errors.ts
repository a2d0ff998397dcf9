// Field errors shaped like Kubernetes' field.Error as the API server reports them in a
// 422 Status: `field` is the path, `reason` the StatusCause type, `message` the error
// body ("Invalid value: "x": detail"), so callers can build a kube-identical Status.

export interface FieldError {
  /** Path of the offending field, e.g. `spec.attestation.verifiers[0].issuer`. */
  field: string;
  /** Kubernetes StatusCause type, e.g. FieldValueRequired, FieldValueInvalid. */
  reason: string;
  /** Kubernetes error body, e.g. `Unsupported value: "X": supported values: "a", "b"`. */
  message: string;
}

/** Reason of the error for an unknown field under strict field validation (not a kube cause type: kube answers 400 for it). */
export const UNKNOWN_FIELD = 'UnknownField';

const TYPE_TEXT: Record<string, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueTypeInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueNotFound: 'Not found',
  InternalError: 'Internal error',
};

/** A value the way kube's ErrorBody prints it: strings quoted, numbers bare, the rest as JSON. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

const NO_VALUE = Symbol('no value');

function make(reason: string, field: string, value: unknown, detail: string): FieldError {
  let message = TYPE_TEXT[reason] ?? reason;
  if (value !== NO_VALUE) message += `: ${formatValue(value)}`;
  if (detail) message += `: ${detail}`;
  return { field, reason, message };
}

export const fieldErrors = {
  required: (field: string, detail = '') => make('FieldValueRequired', field, NO_VALUE, detail),
  forbidden: (field: string, detail: string) =>
    make('FieldValueForbidden', field, NO_VALUE, detail),
  invalid: (field: string, value: unknown, detail: string) =>
    make('FieldValueInvalid', field, value, detail),
  typeInvalid: (field: string, value: unknown, detail: string) =>
    make('FieldValueTypeInvalid', field, value, detail),
  notSupported: (field: string, value: unknown, supported: string[]) =>
    make(
      'FieldValueNotSupported',
      field,
      value,
      supported.length
        ? `supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`
        : '',
    ),
  duplicate: (field: string, value: unknown) => make('FieldValueDuplicate', field, value, ''),
  tooLong: (field: string, max: number) =>
    make(
      'FieldValueTooLong',
      field,
      NO_VALUE,
      `may not be more than ${max} ${max === 1 ? 'byte' : 'bytes'}`,
    ),
  tooMany: (field: string, actual: number, max: number) =>
    make('FieldValueTooMany', field, actual, `must have at most ${max} items`),
  internal: (field: string, detail: string) => make('InternalError', field, NO_VALUE, detail),
  unknownField: (field: string): FieldError => ({
    field,
    reason: UNKNOWN_FIELD,
    message: `unknown field ${JSON.stringify(field)}`,
  }),
};

/** `a.b` / `a[0]` / `a[key]` as kube's field.Path renders them. */
export const fieldPath = {
  child: (parent: string, name: string) => (parent ? `${parent}.${name}` : name),
  index: (parent: string, i: number) => `${parent}[${i}]`,
  key: (parent: string, key: string) => `${parent}[${key}]`,
};

/** One line per error, `field: message`, as kubectl prints them. */
export function formatFieldError(e: FieldError): string {
  return e.field ? `${e.field}: ${e.message}` : e.message;
}
