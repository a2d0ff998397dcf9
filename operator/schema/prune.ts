// Pruning and defaulting, in the order kube-apiserver decodes a custom resource: unknown
// fields are dropped (and their paths returned, for Warn/Strict field validation), then
// nulls of non-nullable fields are dropped and defaults fill absent fields, recursively,
// including inside array items and inside values that were just defaulted.

import { fieldPath } from './errors.ts';
import type { SchemaNode } from './structural.ts';

export type JSONObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JSONObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** ObjectMeta's JSON fields: anything else under metadata is unknown. */
const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const TYPE_META = new Set(['apiVersion', 'kind']);

/** A deep copy of a JSON value, made of this realm's arrays and objects (CEL checks constructors). */
export function deepCopy<T>(value: T): T {
  if (Array.isArray(value)) return Array.from(value, deepCopy) as T;
  if (isObject(value)) {
    const out: JSONObject = {};
    for (const [k, v] of Object.entries(value)) {
      // A JSON key "__proto__" is data, never the prototype.
      Object.defineProperty(out, k, {
        value: deepCopy(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out as T;
  }
  return value;
}

/** Removes fields the schema does not know; returns their paths (`spec.foo`). */
export function prune(value: unknown, node: SchemaNode, isResourceRoot: boolean): string[] {
  const unknown: string[] = [];
  pruneNode(value, node, '', isResourceRoot, unknown);
  return unknown;
}

function pruneNode(
  value: unknown,
  node: SchemaNode,
  path: string,
  resourceRoot: boolean,
  unknown: string[],
): void {
  if (Array.isArray(value)) {
    const items = node.items;
    if (items) {
      for (const [i, v] of value.entries()) {
        pruneNode(v, items, fieldPath.index(path, i), false, unknown);
      }
    }
    return;
  }
  if (!isObject(value)) return;
  const embedded = resourceRoot || node.embeddedResource;
  for (const key of Object.keys(value)) {
    const child = fieldPath.child(path, key);
    if (embedded && TYPE_META.has(key)) continue;
    if (embedded && key === 'metadata') {
      pruneObjectMeta(value[key], child, unknown);
      continue;
    }
    const prop = node.properties?.get(key);
    if (prop) {
      pruneNode(value[key], prop, child, false, unknown);
    } else if (typeof node.additionalProperties === 'object') {
      pruneNode(value[key], node.additionalProperties, child, false, unknown);
    } else if (node.additionalProperties === true || node.preserveUnknownFields) {
      // kept as is: nothing below is known
    } else {
      delete value[key];
      unknown.push(child);
    }
  }
}

function pruneObjectMeta(meta: unknown, path: string, unknown: string[]): void {
  if (!isObject(meta)) return;
  for (const key of Object.keys(meta)) {
    if (!OBJECT_META_FIELDS.has(key)) {
      delete meta[key];
      unknown.push(fieldPath.child(path, key));
    }
  }
}

/** Applies schema defaults to absent (or non-nullable null) fields, in place. */
export function applyDefaults(value: unknown, node: SchemaNode): void {
  if (Array.isArray(value)) {
    if (node.items) for (const item of value) applyDefaults(item, node.items);
    return;
  }
  if (!isObject(value)) return;
  if (node.properties) {
    for (const [key, prop] of node.properties) {
      const current = value[key];
      if (current === null && !prop.nullable) delete value[key];
      if (value[key] === undefined && prop.hasDefault) value[key] = deepCopy(prop.default);
    }
    for (const [key, v] of Object.entries(value)) {
      const prop = node.properties.get(key);
      if (prop) applyDefaults(v, prop);
    }
  } else if (typeof node.additionalProperties === 'object') {
    const extra = node.additionalProperties;
    for (const [key, v] of Object.entries(value)) {
      if (v === null && !extra.nullable) {
        if (extra.hasDefault) value[key] = deepCopy(extra.default);
        else delete value[key];
      }
      applyDefaults(value[key], extra);
    }
  }
}
