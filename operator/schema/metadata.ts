// ObjectMeta checks kube-apiserver applies to every custom resource: a name (or
// generateName) that is an RFC 1123 subdomain, a valid namespace, valid labels and
// annotation keys.

import { type FieldError, fieldErrors } from './errors.ts';
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  labelValueErrors,
  qualifiedNameErrors,
} from './names.ts';
import { isObject } from './prune.ts';

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function validateObjectMeta(
  metadata: unknown,
  opts: { namespaced?: boolean } = {},
): FieldError[] {
  const errors: FieldError[] = [];
  const meta = isObject(metadata) ? metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '';
  const generateName = typeof meta.generateName === 'string' ? meta.generateName : '';
  if (name === '' && generateName === '') {
    errors.push(fieldErrors.required('metadata.name', 'name or generateName is required'));
  } else if (name !== '') {
    for (const msg of dns1123SubdomainErrors(name)) {
      errors.push(fieldErrors.invalid('metadata.name', name, msg));
    }
  } else {
    // generateName is a prefix: the random suffix makes a trailing dash fine.
    const prefix = generateName.endsWith('-') ? generateName.slice(0, -1) : generateName;
    for (const msg of dns1123SubdomainErrors(prefix)) {
      errors.push(fieldErrors.invalid('metadata.generateName', generateName, msg));
    }
  }
  if (opts.namespaced && typeof meta.namespace === 'string' && meta.namespace !== '') {
    for (const msg of dns1123LabelErrors(meta.namespace)) {
      errors.push(fieldErrors.invalid('metadata.namespace', meta.namespace, msg));
    }
  }
  if (isObject(meta.labels)) {
    for (const [k, v] of Object.entries(meta.labels)) {
      for (const msg of qualifiedNameErrors(k))
        errors.push(fieldErrors.invalid('metadata.labels', k, msg));
      if (typeof v !== 'string') {
        errors.push(fieldErrors.invalid(`metadata.labels`, v, 'label values must be strings'));
        continue;
      }
      for (const msg of labelValueErrors(v))
        errors.push(fieldErrors.invalid('metadata.labels', v, msg));
    }
  }
  if (isObject(meta.annotations)) {
    let size = 0;
    for (const [k, v] of Object.entries(meta.annotations)) {
      for (const msg of qualifiedNameErrors(k.toLowerCase())) {
        errors.push(fieldErrors.invalid('metadata.annotations', k, msg));
      }
      size += k.length + (typeof v === 'string' ? v.length : 0);
    }
    if (size > TOTAL_ANNOTATION_SIZE_LIMIT) {
      errors.push(fieldErrors.tooLong('metadata.annotations', TOTAL_ANNOTATION_SIZE_LIMIT));
    }
  }
  return errors;
}
