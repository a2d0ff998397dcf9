// OpenAPI v3 keyword validation of a (pruned, defaulted) value, with the messages
// kube-openapi produces and the field-error types kube-apiserver converts them to.
// With an old value (update), unchanged values are ratcheted as kube does since 1.30:
// their errors are dropped, except Required.

import { type FieldError, fieldErrors, fieldPath } from './errors.ts';
import { FORMAT_CHECKS } from './formats.ts';
import { isObject } from './prune.ts';
import type { SchemaNode } from './structural.ts';

/** The JSON type name kube-openapi reports for a value. */
export function jsonTypeOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'bigint') return 'integer';
  return typeof value === 'object' ? 'object' : typeof value;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Correlates an old value to a new one below a node: absent means "not correlatable". */
export const NO_OLD: unique symbol = Symbol('no old value');
export type Old = unknown | typeof NO_OLD;

/** The old list item matching `item` by the list's map keys, for ratcheting and transition rules. */
export function correlateMapListItem(node: SchemaNode, item: unknown, old: Old): Old {
  if (node.listType !== 'map' || !Array.isArray(old) || !isObject(item)) return NO_OLD;
  const match = old.find(
    (o) => isObject(o) && node.listMapKeys.every((k) => deepEqual(o[k], item[k])),
  );
  return match === undefined ? NO_OLD : match;
}

function typeMatches(node: SchemaNode, t: string): boolean {
  if (node.intOrString) return t === 'integer' || t === 'string';
  if (node.type === undefined) return true;
  if (node.type === 'number') return t === 'number' || t === 'integer';
  return node.type === t;
}

export function validateValue(
  value: unknown,
  node: SchemaNode,
  path: string,
  old: Old,
  errors: FieldError[],
): void {
  // Ratcheting: an unchanged value keeps whatever errors it already had.
  const unchanged = old !== NO_OLD && deepEqual(value, old);
  const report = (e: FieldError) => {
    if (!unchanged || e.reason === 'FieldValueRequired') errors.push(e);
  };
  const name = `${path} in body`;
  const t = jsonTypeOf(value);
  if (value === null) {
    if (node.nullable) return;
    if (node.type !== undefined || node.intOrString) {
      report(
        fieldErrors.typeInvalid(path, 'null', `${name} must be of type ${typeName(node)}: "null"`),
      );
    }
    return;
  }
  if (!typeMatches(node, t)) {
    report(
      fieldErrors.typeInvalid(
        path,
        t,
        `${name} must be of type ${typeName(node)}: ${JSON.stringify(t)}`,
      ),
    );
    return;
  }
  if (node.enum && !node.enum.some((e) => deepEqual(e, value))) {
    report(
      fieldErrors.notSupported(
        path,
        value,
        node.enum.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))),
      ),
    );
  }
  if (typeof value === 'string') validateString(value, node, path, name, report);
  else if (typeof value === 'number') validateNumber(value, node, path, name, report);
  else if (Array.isArray(value)) validateArray(value, node, path, name, old, report, errors);
  else if (isObject(value)) validateObject(value, node, path, name, old, report, errors);
}

function typeName(node: SchemaNode): string {
  return node.intOrString ? 'integer,string' : (node.type ?? 'object');
}

type Report = (e: FieldError) => void;

function validateString(v: string, node: SchemaNode, path: string, name: string, report: Report) {
  const length = [...v].length;
  if (node.maxLength !== undefined && length > node.maxLength) {
    report(fieldErrors.tooLong(path, node.maxLength));
  }
  if (node.minLength !== undefined && length < node.minLength) {
    report(fieldErrors.invalid(path, v, `${name} should be at least ${node.minLength} chars long`));
  }
  if (node.pattern && !node.pattern.regexp.test(v)) {
    report(fieldErrors.invalid(path, v, `${name} should match '${node.pattern.source}'`));
  }
  const check = node.format ? FORMAT_CHECKS[node.format] : undefined;
  if (check && !check(v)) {
    report(
      fieldErrors.typeInvalid(
        path,
        v,
        `${name} must be of type ${node.format}: ${JSON.stringify(v)}`,
      ),
    );
  }
}

function validateNumber(v: number, node: SchemaNode, path: string, name: string, report: Report) {
  if (node.minimum !== undefined) {
    if (node.exclusiveMinimum ? v <= node.minimum : v < node.minimum) {
      const rel = node.exclusiveMinimum ? 'greater than' : 'greater than or equal to';
      report(fieldErrors.invalid(path, v, `${name} should be ${rel} ${node.minimum}`));
    }
  }
  if (node.maximum !== undefined) {
    if (node.exclusiveMaximum ? v >= node.maximum : v > node.maximum) {
      const rel = node.exclusiveMaximum ? 'less than' : 'less than or equal to';
      report(fieldErrors.invalid(path, v, `${name} should be ${rel} ${node.maximum}`));
    }
  }
  if (node.multipleOf !== undefined && node.multipleOf > 0) {
    const q = v / node.multipleOf;
    if (Math.abs(q - Math.round(q)) > 1e-9) {
      report(fieldErrors.invalid(path, v, `${name} should be a multiple of ${node.multipleOf}`));
    }
  }
}

function validateArray(
  v: unknown[],
  node: SchemaNode,
  path: string,
  name: string,
  old: Old,
  report: Report,
  errors: FieldError[],
) {
  if (node.maxItems !== undefined && v.length > node.maxItems) {
    report(fieldErrors.tooMany(path, v.length, node.maxItems));
  }
  if (node.minItems !== undefined && v.length < node.minItems) {
    report(
      fieldErrors.invalid(path, v.length, `${name} should have at least ${node.minItems} items`),
    );
  }
  if (!node.items) return;
  v.forEach((item, i) => {
    validateValue(
      item,
      node.items as SchemaNode,
      fieldPath.index(path, i),
      correlateMapListItem(node, item, old),
      errors,
    );
  });
}

function validateObject(
  v: Record<string, unknown>,
  node: SchemaNode,
  path: string,
  name: string,
  old: Old,
  report: Report,
  errors: FieldError[],
) {
  const count = Object.keys(v).length;
  if (node.maxProperties !== undefined && count > node.maxProperties) {
    report(fieldErrors.tooMany(path, count, node.maxProperties));
  }
  if (node.minProperties !== undefined && count < node.minProperties) {
    report(
      fieldErrors.invalid(
        path,
        count,
        `${name} should have at least ${node.minProperties} properties`,
      ),
    );
  }
  for (const key of node.required) {
    if (v[key] === undefined) report(fieldErrors.required(fieldPath.child(path, key)));
  }
  const oldObj = isObject(old) ? old : undefined;
  for (const [key, child] of Object.entries(v)) {
    const prop =
      node.properties?.get(key) ??
      (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
    if (!prop) continue;
    const oldChild = oldObj && key in oldObj ? oldObj[key] : NO_OLD;
    validateValue(child, prop, fieldPath.child(path, key), oldChild, errors);
  }
}

/** x-kubernetes-list-type set/map uniqueness, checked on the whole object as kube does. */
export function validateListTypes(
  value: unknown,
  node: SchemaNode,
  path: string,
  errors: FieldError[],
): void {
  if (Array.isArray(value)) {
    if (node.listType === 'set') {
      value.forEach((item, i) => {
        if (value.slice(0, i).some((prev) => deepEqual(prev, item))) {
          errors.push(fieldErrors.duplicate(fieldPath.index(path, i), item));
        }
      });
    } else if (node.listType === 'map') {
      const seen: Record<string, unknown>[] = [];
      value.forEach((item, i) => {
        if (!isObject(item)) return;
        const key = Object.fromEntries(
          node.listMapKeys.filter((k) => item[k] !== undefined).map((k) => [k, item[k]]),
        );
        if (seen.some((s) => deepEqual(s, key)))
          errors.push(fieldErrors.duplicate(fieldPath.index(path, i), key));
        else seen.push(key);
      });
    }
    const items = node.items;
    if (items) {
      for (const [i, item] of value.entries()) {
        validateListTypes(item, items, fieldPath.index(path, i), errors);
      }
    }
    return;
  }
  if (!isObject(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const prop =
      node.properties?.get(key) ??
      (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
    if (prop) validateListTypes(child, prop, fieldPath.child(path, key), errors);
  }
}
