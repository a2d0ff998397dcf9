// trustgate's own CRD schemas, compiled once, applied to parsed trustgate resources.

import { API_VERSION, CRDS, type CrdSource, toCustomResourceDefinition } from '../api/crds.ts';
import { type FieldError, fieldErrors } from './errors.ts';
import { type ApplyOptions, type CompiledSchema, compileSchema } from './index.ts';
import { isObject } from './prune.ts';
import type { SchemaInput } from './structural.ts';

interface TrustgateSchema {
  source: CrdSource;
  compiled: CompiledSchema;
}

let compiledByKind: Map<string, TrustgateSchema> | undefined;

function schemas(): Map<string, TrustgateSchema> {
  if (!compiledByKind) {
    compiledByKind = new Map();
    for (const source of CRDS) {
      const crd = toCustomResourceDefinition(source) as {
        spec: { versions: { schema: { openAPIV3Schema: SchemaInput } }[] };
      };
      const schema = crd.spec.versions[0]?.schema.openAPIV3Schema as SchemaInput;
      const compiled = compileSchema(schema, {
        resourceRoot: true,
        namespaced: source.scope === 'Namespaced',
      });
      compiledByKind.set(source.kind, { source, compiled });
    }
  }
  return compiledByKind;
}

/** The compiled schema of a trustgate kind (NodeAttestation, EndpointTrustPolicy, WorkloadGrant). */
export function trustgateSchema(kind: string): CompiledSchema | undefined {
  return schemas().get(kind)?.compiled;
}

export function isTrustgateKind(obj: unknown): boolean {
  return isObject(obj) && obj.apiVersion === API_VERSION && schemas().has(String(obj.kind));
}

/**
 * Applies the trustgate CRD schema matching obj's kind: returns the defaulted, pruned
 * copy and every error kube-apiserver would report for it. Unknown fields are errors
 * (strict field validation), as `kubectl apply` asks for by default.
 */
export function defaultedResource(
  obj: unknown,
  opts: ApplyOptions = {},
): { object: unknown; errors: FieldError[] } {
  if (!isObject(obj)) {
    return { object: obj, errors: [fieldErrors.invalid('', obj, 'a resource must be an object')] };
  }
  if (obj.apiVersion !== API_VERSION) {
    return {
      object: obj,
      errors: [fieldErrors.notSupported('apiVersion', obj.apiVersion ?? '', [API_VERSION])],
    };
  }
  const entry = schemas().get(String(obj.kind));
  if (!entry) {
    return {
      object: obj,
      errors: [fieldErrors.notSupported('kind', obj.kind ?? '', [...schemas().keys()])],
    };
  }
  const { object, errors } = entry.compiled.apply(obj, { strictFieldValidation: true, ...opts });
  return { object, errors: [...entry.compiled.schemaErrors, ...errors] };
}
