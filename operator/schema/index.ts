// Kubernetes apiextensions structural-schema handling for custom resources, as
// kube-apiserver applies it on every write: prune unknown fields, default, validate the
// OpenAPI keywords, list-type invariants and CEL x-kubernetes-validations, and report
// kube-style field errors. Compile a schema once, apply it to every object.

import { CelRules } from './cel.ts';
import { type FieldError, fieldErrors } from './errors.ts';
import { validateObjectMeta } from './metadata.ts';
import { applyDefaults, deepCopy, isObject, prune } from './prune.ts';
import { buildNode, type SchemaInput, type SchemaNode } from './structural.ts';
import { NO_OLD, validateListTypes, validateValue } from './validate.ts';

export type { FieldError } from './errors.ts';
export { formatFieldError, UNKNOWN_FIELD } from './errors.ts';
export { validateObjectMeta } from './metadata.ts';
export type { SchemaInput } from './structural.ts';

export interface CompileOptions {
  /**
   * The schema is a whole custom resource (a CRD version's openAPIV3Schema): apiVersion,
   * kind and metadata are never pruned, metadata is validated as ObjectMeta, and CEL
   * rules see only metadata.name and metadata.generateName. Default true.
   */
  resourceRoot?: boolean;
  /** The resource is namespaced (its metadata.namespace is checked). */
  namespaced?: boolean;
}

export interface ApplyOptions {
  /** The stored object, on update: enables transition rules (oldSelf) and ratcheting. */
  oldObject?: unknown;
  /** Report pruned unknown fields as errors, like fieldValidation=Strict. */
  strictFieldValidation?: boolean;
}

export interface ApplyResult {
  /** A defaulted, pruned deep copy of the input. */
  object: unknown;
  /** Every problem, kube style; empty when the object is valid. */
  errors: FieldError[];
  /** Paths of the fields pruning removed (`spec.foo`): kube's Warn-mode warnings. */
  unknownFields: string[];
}

export interface CompiledSchema {
  /** Problems kube-apiserver would refuse the CRD for (non-structural parts, rules that do not compile). */
  schemaErrors: FieldError[];
  apply(obj: unknown, opts?: ApplyOptions): ApplyResult;
}

// CEL rules are skipped when the object is not the shape they were written for (kube's hasBlockingErr).
const BLOCKING = new Set([
  'FieldValueNotSupported',
  'FieldValueRequired',
  'FieldValueTooLong',
  'FieldValueTooMany',
  'FieldValueTypeInvalid',
]);

/** Compiles an openAPIV3Schema once; schema problems are reported in `schemaErrors`, never thrown. */
export function compileSchema(
  openAPIV3Schema: SchemaInput | Record<string, unknown>,
  opts: CompileOptions = {},
): CompiledSchema {
  const resourceRoot = opts.resourceRoot ?? true;
  const schemaErrors: FieldError[] = [];
  const root: SchemaNode = buildNode(
    openAPIV3Schema as SchemaInput,
    'openAPIV3Schema',
    schemaErrors,
    true,
  );
  let cel: CelRules | undefined;
  if (root.hasRulesBelow) {
    try {
      cel = new CelRules(root, resourceRoot);
      schemaErrors.push(...cel.compileErrors);
    } catch (err) {
      schemaErrors.push(
        fieldErrors.invalid(
          'openAPIV3Schema',
          '',
          `cannot build the CEL environment: ${(err as Error).message}`,
        ),
      );
    }
  }

  return {
    schemaErrors,
    apply(obj, applyOpts = {}) {
      const object = deepCopy(obj);
      const unknownFields = prune(object, root, resourceRoot);
      applyDefaults(object, root);
      const errors: FieldError[] = [];
      if (applyOpts.strictFieldValidation) {
        for (const f of unknownFields) errors.push(fieldErrors.unknownField(f));
      }
      if (resourceRoot) {
        errors.push(...validateObjectMeta(isObject(object) ? object.metadata : undefined, opts));
      }
      const old = applyOpts.oldObject === undefined ? NO_OLD : applyOpts.oldObject;
      const schemaErrs: FieldError[] = [];
      validateValue(object, root, '', old, schemaErrs);
      validateListTypes(object, root, '', schemaErrs);
      errors.push(...schemaErrs);
      if (root.hasRulesBelow) {
        if (errors.some((e) => BLOCKING.has(e.reason))) {
          errors.push(
            fieldErrors.invalid(
              '<nil>',
              'null',
              'some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
            ),
          );
        } else if (cel) {
          cel.validate(object, root, '', old, errors);
        }
      }
      return { object, errors, unknownFields };
    },
  };
}
