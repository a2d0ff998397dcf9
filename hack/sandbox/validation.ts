// kube's metadata rules: names, label keys and values, annotation size, finalizers.
// Each check returns field errors (StatusCauses) in kube's wording.
import { fieldError, type StatusCause } from './errors.ts';
import type { KubeObject } from './types.ts';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const invalid = (field: string, value: unknown, why: string) =>
  fieldError('FieldValueInvalid', field, `Invalid value: ${JSON.stringify(value)}: ${why}`);

export function isDNS1123Label(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}

export function isDNS1123Subdomain(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
}

const SUBDOMAIN_WHY =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_WHY =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

function qualifiedNameErrors(field: string, key: string): StatusCause[] {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const bad =
    (slash >= 0 && !isDNS1123Subdomain(prefix)) ||
    name.length === 0 ||
    name.length > 63 ||
    !QUALIFIED_NAME.test(name);
  return bad
    ? [
        invalid(
          field,
          key,
          "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
        ),
      ]
    : [];
}

/** Validates metadata; `nameRule` is how this kind's names are checked. */
export function validateMetadata(obj: KubeObject, nameRule: 'subdomain' | 'label'): StatusCause[] {
  const causes: StatusCause[] = [];
  const meta = obj.metadata;
  const name = meta.name ?? '';
  if (!name) {
    causes.push(
      fieldError(
        'FieldValueRequired',
        'metadata.name',
        'Required value: name or generateName is required',
      ),
    );
  } else if (nameRule === 'label' ? !isDNS1123Label(name) : !isDNS1123Subdomain(name)) {
    causes.push(invalid('metadata.name', name, nameRule === 'label' ? LABEL_WHY : SUBDOMAIN_WHY));
  }
  for (const [key, value] of Object.entries(meta.labels ?? {})) {
    causes.push(...qualifiedNameErrors('metadata.labels', key));
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value)) {
      causes.push(
        invalid(
          'metadata.labels',
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        ),
      );
    }
  }
  let annotationBytes = 0;
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    causes.push(...qualifiedNameErrors('metadata.annotations', key.toLowerCase()));
    annotationBytes += key.length + String(value).length;
  }
  if (annotationBytes > 256 * 1024) {
    causes.push(
      fieldError(
        'FieldValueTooLong',
        'metadata.annotations',
        'Too long: must have at most 262144 bytes',
      ),
    );
  }
  for (const [i, f] of (meta.finalizers ?? []).entries()) {
    causes.push(...qualifiedNameErrors(`metadata.finalizers[${i}]`, f));
  }
  return causes;
}

/** Finalizers may not be added to an object that is being deleted. */
export function validateFinalizersOnDelete(old: KubeObject, next: KubeObject): StatusCause[] {
  if (!old.metadata.deletionTimestamp) return [];
  const before = new Set(old.metadata.finalizers ?? []);
  const added = (next.metadata.finalizers ?? []).filter((f) => !before.has(f));
  if (added.length === 0) return [];
  return [
    fieldError(
      'FieldValueForbidden',
      'metadata.finalizers',
      `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
    ),
  ];
}
