// A CRD's openAPIV3Schema compiled once into a tree of nodes with everything the
// validator needs precomputed (regexes, enum lists, rule programs), plus the
// structural-schema problems kube-apiserver would refuse the CRD for.

import type { JSONSchemaProps } from '../api/schema-builders.ts';
import { type FieldError, fieldErrors } from './errors.ts';
import { re2ToRegExp } from './regex.ts';

export type ValidationRule = NonNullable<JSONSchemaProps['x-kubernetes-validations']>[number] & {
  messageExpression?: string;
  optionalOldSelf?: boolean;
};

/** The schema keywords kube-apiserver understands, including those our builders do not emit. */
export interface SchemaInput
  extends Omit<
    JSONSchemaProps,
    'properties' | 'items' | 'additionalProperties' | 'x-kubernetes-validations'
  > {
  properties?: Record<string, SchemaInput>;
  items?: SchemaInput;
  additionalProperties?: SchemaInput | boolean;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minProperties?: number;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-validations'?: ValidationRule[];
}

export interface SchemaNode {
  /** Where the node sits in the schema, for schema errors: openAPIV3Schema.properties[spec]. */
  schemaPath: string;
  type: string | undefined;
  nullable: boolean;
  properties: Map<string, SchemaNode> | undefined;
  required: string[];
  items: SchemaNode | undefined;
  /** A schema for extra keys, or true to keep them unchecked. */
  additionalProperties: SchemaNode | true | undefined;
  preserveUnknownFields: boolean;
  intOrString: boolean;
  embeddedResource: boolean;
  enum: unknown[] | undefined;
  pattern: { source: string; regexp: RegExp } | undefined;
  format: string | undefined;
  hasDefault: boolean;
  default: unknown;
  minimum: number | undefined;
  maximum: number | undefined;
  exclusiveMinimum: boolean;
  exclusiveMaximum: boolean;
  multipleOf: number | undefined;
  minLength: number | undefined;
  maxLength: number | undefined;
  minItems: number | undefined;
  maxItems: number | undefined;
  minProperties: number | undefined;
  maxProperties: number | undefined;
  listType: 'atomic' | 'set' | 'map' | undefined;
  listMapKeys: string[];
  mapType: 'atomic' | 'granular' | undefined;
  rules: ValidationRule[];
  /** Whether this node or any below it carries x-kubernetes-validations. */
  hasRulesBelow: boolean;
}

const SCALARS = new Set(['string', 'integer', 'number', 'boolean']);
const TYPES = new Set([...SCALARS, 'object', 'array']);

/** Builds the node tree; structural problems go to `errors` (kube would refuse the CRD). */
export function buildNode(
  schema: SchemaInput,
  schemaPath: string,
  errors: FieldError[],
  isRoot: boolean,
): SchemaNode {
  const s = schema ?? {};
  const node: SchemaNode = {
    schemaPath,
    type: s.type,
    nullable: s.nullable === true,
    properties: undefined,
    required: s.required ?? [],
    items: undefined,
    additionalProperties: undefined,
    preserveUnknownFields: s['x-kubernetes-preserve-unknown-fields'] === true,
    intOrString: s['x-kubernetes-int-or-string'] === true,
    embeddedResource: s['x-kubernetes-embedded-resource'] === true,
    enum: s.enum,
    pattern: undefined,
    format: s.format,
    hasDefault: s.default !== undefined,
    default: s.default,
    minimum: s.minimum,
    maximum: s.maximum,
    exclusiveMinimum: s.exclusiveMinimum === true,
    exclusiveMaximum: s.exclusiveMaximum === true,
    multipleOf: s.multipleOf,
    minLength: s.minLength,
    maxLength: s.maxLength,
    minItems: s.minItems,
    maxItems: s.maxItems,
    minProperties: s.minProperties,
    maxProperties: s.maxProperties,
    listType: s['x-kubernetes-list-type'],
    listMapKeys: s['x-kubernetes-list-map-keys'] ?? [],
    mapType: s['x-kubernetes-map-type'],
    rules: s['x-kubernetes-validations'] ?? [],
    hasRulesBelow: false,
  };

  if (s.type === undefined) {
    if (!node.intOrString && !node.preserveUnknownFields && !isRoot) {
      errors.push(
        fieldErrors.required(`${schemaPath}.type`, 'must not be empty for specified object fields'),
      );
    }
  } else if (!TYPES.has(s.type)) {
    errors.push(fieldErrors.notSupported(`${schemaPath}.type`, s.type, [...TYPES].sort()));
  }
  if (s.pattern !== undefined) {
    try {
      node.pattern = { source: s.pattern, regexp: re2ToRegExp(s.pattern) };
    } catch (err) {
      errors.push(
        fieldErrors.invalid(
          `${schemaPath}.pattern`,
          s.pattern,
          `must be a valid regular expression, but isn't: ${(err as Error).message}`,
        ),
      );
    }
  }
  if (s.properties) {
    node.properties = new Map();
    for (const [name, prop] of Object.entries(s.properties)) {
      node.properties.set(
        name,
        buildNode(prop, `${schemaPath}.properties[${name}]`, errors, false),
      );
    }
    if (s.additionalProperties !== undefined && s.additionalProperties !== false) {
      errors.push(
        fieldErrors.forbidden(
          `${schemaPath}.additionalProperties`,
          'additionalProperties and properties are mutual exclusive',
        ),
      );
    }
  }
  if (s.additionalProperties !== undefined && !s.properties) {
    if (s.additionalProperties === true) node.additionalProperties = true;
    else if (s.additionalProperties === false) {
      errors.push(fieldErrors.forbidden(`${schemaPath}.additionalProperties`, 'must not be false'));
    } else {
      node.additionalProperties = buildNode(
        s.additionalProperties,
        `${schemaPath}.additionalProperties`,
        errors,
        false,
      );
    }
  }
  if (s.items) node.items = buildNode(s.items, `${schemaPath}.items`, errors, false);
  if (s.type === 'array' && !s.items) {
    errors.push(fieldErrors.required(`${schemaPath}.items`, 'must be specified'));
  }
  checkListType(node, errors);
  node.hasRulesBelow =
    node.rules.length > 0 ||
    [...(node.properties?.values() ?? [])].some((p) => p.hasRulesBelow) ||
    (node.items?.hasRulesBelow ?? false) ||
    (typeof node.additionalProperties === 'object' && node.additionalProperties.hasRulesBelow);
  return node;
}

function checkListType(node: SchemaNode, errors: FieldError[]): void {
  const at = `${node.schemaPath}.x-kubernetes-list-type`;
  if (node.listType === undefined) {
    if (node.listMapKeys.length > 0) {
      errors.push(
        fieldErrors.forbidden(
          `${node.schemaPath}.x-kubernetes-list-map-keys`,
          'must not be set if x-kubernetes-list-type is not map',
        ),
      );
    }
    return;
  }
  if (node.type !== 'array') {
    errors.push(fieldErrors.invalid(at, node.listType, 'must only be used for type array'));
    return;
  }
  const items = node.items;
  if (node.listType === 'set' && items && items.type !== undefined && !SCALARS.has(items.type)) {
    errors.push(
      fieldErrors.forbidden(
        `${node.schemaPath}.items.type`,
        'must be a scalar type if parent array type is set',
      ),
    );
  }
  if (node.listType === 'map') {
    if (node.listMapKeys.length === 0) {
      errors.push(
        fieldErrors.required(
          `${node.schemaPath}.x-kubernetes-list-map-keys`,
          'must not be empty if x-kubernetes-list-type is map',
        ),
      );
    }
    if (items?.type !== 'object') {
      errors.push(
        fieldErrors.invalid(
          `${node.schemaPath}.items.type`,
          items?.type ?? '',
          "must be object if parent array's x-kubernetes-list-type is map",
        ),
      );
      return;
    }
    for (const key of node.listMapKeys) {
      const prop = items.properties?.get(key);
      if (!prop) {
        errors.push(
          fieldErrors.invalid(
            `${node.schemaPath}.x-kubernetes-list-map-keys`,
            node.listMapKeys,
            `entries must all be names of item properties: ${key}`,
          ),
        );
      } else if (!items.required.includes(key) && !prop.hasDefault) {
        errors.push(
          fieldErrors.required(
            `${node.schemaPath}.items.properties[${key}]`,
            'all map keys must be required or have a default value',
          ),
        );
      }
    }
  }
}
