// CustomResourceDefinitions: checking a CRD, serving its resources once it is
// established (scope, versions, status subresource, printer columns), validating,
// defaulting and pruning custom resources with the CRD's structural schema
// (operator/schema), and removing the instances when the CRD goes.
import { compileSchema } from '../../operator/schema/index.ts';
import type { KindHooks, ObjectAPI } from './api.ts';
import { fieldError, type StatusCause } from './errors.ts';
import {
  ALL_VERBS,
  type PrinterColumn,
  type ResourceType,
  resourceKey,
  type ValidationResult,
} from './resources.ts';
import type { KubeObject } from './types.ts';
import { isRecord, nowRFC3339 } from './util.ts';
import { isDNS1123Label, isDNS1123Subdomain } from './validation.ts';

interface CRDNames {
  plural: string;
  singular?: string;
  kind: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

interface CRDVersion {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: Record<string, unknown> };
  subresources?: { status?: unknown; scale?: unknown };
  additionalPrinterColumns?: {
    name: string;
    type: string;
    format?: string;
    description?: string;
    priority?: number;
    jsonPath: string;
  }[];
}

interface CRDSpec {
  group: string;
  names: CRDNames;
  scope: 'Namespaced' | 'Cluster';
  versions: CRDVersion[];
}

function specOf(crd: KubeObject): CRDSpec {
  return (isRecord(crd.spec) ? crd.spec : {}) as unknown as CRDSpec;
}

export function validateCRD(crd: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = specOf(crd);
  const names = isRecord(spec.names) ? spec.names : ({} as CRDNames);
  if (!spec.group) causes.push(fieldError('FieldValueRequired', 'spec.group', 'Required value'));
  else if (!isDNS1123Subdomain(spec.group) || !spec.group.includes('.')) {
    causes.push(
      fieldError(
        'FieldValueInvalid',
        'spec.group',
        `Invalid value: "${spec.group}": should be a domain with at least one dot`,
      ),
    );
  }
  if (!names.plural)
    causes.push(fieldError('FieldValueRequired', 'spec.names.plural', 'Required value'));
  else if (!isDNS1123Label(names.plural))
    causes.push(
      fieldError(
        'FieldValueInvalid',
        'spec.names.plural',
        `Invalid value: "${names.plural}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`,
      ),
    );
  if (!names.kind)
    causes.push(fieldError('FieldValueRequired', 'spec.names.kind', 'Required value'));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    causes.push(
      fieldError(
        'FieldValueNotSupported',
        'spec.scope',
        `Unsupported value: "${String(spec.scope ?? '')}": supported values: "Cluster", "Namespaced"`,
      ),
    );
  }
  if (names.plural && spec.group && crd.metadata.name !== `${names.plural}.${spec.group}`) {
    causes.push(
      fieldError(
        'FieldValueInvalid',
        'metadata.name',
        `Invalid value: "${crd.metadata.name ?? ''}": must be spec.names.plural+"."+spec.group`,
      ),
    );
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0)
    causes.push(
      fieldError(
        'FieldValueRequired',
        'spec.versions',
        'Required value: must have exactly one version marked as storage version',
      ),
    );
  else if (versions.filter((v) => v.storage).length !== 1) {
    causes.push(
      fieldError(
        'FieldValueInvalid',
        'spec.versions',
        'Invalid value: must have exactly one version marked as storage version',
      ),
    );
  }
  versions.forEach((v, i) => {
    const schema = v.schema?.openAPIV3Schema;
    if (!schema) {
      causes.push(
        fieldError(
          'FieldValueRequired',
          `spec.versions[${i}].schema.openAPIV3Schema`,
          'Required value: schemas are required',
        ),
      );
      return;
    }
    for (const e of compileSchema(schema as never).schemaErrors) {
      causes.push({
        reason: e.reason,
        field: `spec.versions[${i}].schema.${e.field}`,
        message: e.message,
      });
    }
  });
  return causes;
}

function validatorFor(
  schema: Record<string, unknown> | undefined,
  namespaced: boolean,
): ResourceType['validate'] {
  if (!schema) return undefined;
  const compiled = compileSchema(schema as never, { namespaced });
  return (obj, old): ValidationResult => {
    const result = compiled.apply(obj, old ? { oldObject: old } : {});
    return {
      object: result.object as KubeObject,
      causes: result.errors.map((e) => ({ reason: e.reason, field: e.field, message: e.message })),
      unknownFields: result.unknownFields,
    };
  };
}

/** The resource types an established CRD serves, one per served version. */
export function typesOfCRD(crd: KubeObject): ResourceType[] {
  const spec = specOf(crd);
  const names = spec.names;
  const namespaced = spec.scope === 'Namespaced';
  return spec.versions
    .filter((v) => v.served)
    .map((v) => {
      const status = v.subresources?.status !== undefined;
      const columns: PrinterColumn[] = (v.additionalPrinterColumns ?? []).map((c) => ({
        name: c.name,
        type: c.type,
        format: c.format,
        description: c.description,
        priority: c.priority,
        jsonPath: c.jsonPath,
      }));
      return {
        group: spec.group,
        version: v.name,
        resource: names.plural,
        kind: names.kind,
        listKind: names.listKind ?? `${names.kind}List`,
        singular: names.singular ?? names.kind.toLowerCase(),
        namespaced,
        shortNames: names.shortNames ?? [],
        categories: names.categories ?? [],
        verbs: ALL_VERBS,
        subresources: (status
          ? { status: { kind: '', verbs: ['get', 'patch', 'update'] } }
          : {}) as ResourceType['subresources'],
        statusSubresource: status,
        generation: 'nonMetadata',
        unconditionalUpdate: false,
        extraFields: {},
        columns,
        validate: validatorFor(v.schema?.openAPIV3Schema, namespaced),
      } satisfies ResourceType;
    });
}

function condition(type: string, reason: string, message: string) {
  return { type, status: 'True', lastTransitionTime: nowRFC3339(), reason, message };
}

export function crdHooks(api: ObjectAPI, crdType: ResourceType): KindHooks {
  const establish = (crd: KubeObject) => {
    const spec = specOf(crd);
    const name = crd.metadata.name ?? '';
    if (api.registry.conflicts(name, spec.group, spec.names)) return;
    api.registry.setCRD(name, typesOfCRD(crd));
    const next = structuredClone(crd);
    const old = isRecord(next.status) ? next.status : {};
    const storage = spec.versions.find((v) => v.storage)?.name;
    const stored = Array.isArray(old.storedVersions) ? (old.storedVersions as string[]) : [];
    next.status = {
      conditions: [
        condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
        condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
      ],
      acceptedNames: {
        ...spec.names,
        listKind: spec.names.listKind ?? `${spec.names.kind}List`,
        singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
      },
      storedVersions: storage && !stored.includes(storage) ? [...stored, storage] : stored,
    };
    api.writeInternal(crdType, next);
  };
  return {
    validate: (crd) => validateCRD(crd),
    afterWrite: (crd) => establish(crd),
    delete: (crd) => {
      // Instances go with their CRD. Unlike kube's customresourcecleanup finalizer this
      // does not wait for the instances' own finalizers.
      const spec = specOf(crd);
      const key = resourceKey(spec.group, spec.names.plural);
      const first = typesOfCRD(crd)[0];
      if (first) {
        for (const e of [...api.store.list(key)])
          api.removeNow(first, JSON.parse(e.json) as KubeObject);
      }
      api.registry.removeCRD(crd.metadata.name ?? '');
      api.store.drop(key);
      api.removeNow(crdType, crd);
      return undefined;
    },
  };
}
