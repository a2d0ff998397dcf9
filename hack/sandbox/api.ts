// The object operations behind every write: create, update (main resource or a
// subresource), delete with finalizers and grace periods. HTTP handlers and the
// sandbox's own controllers both go through here, so kube's rules live in one place.
import { type AdmissionAttributes, runValidatingAdmission } from './admission.ts';
import { errors, groupResource, StatusError } from './errors.ts';
import { OwnerIndex } from './gc.ts';
import type { Registry } from './registry.ts';
import { apiVersionOf, type ResourceType, resourceKey, selectableFields } from './resources.ts';
import { type Entry, entryKey, type Store } from './store.ts';
import type { KubeObject, SandboxContext, UserInfo } from './types.ts';
import { deepEqual, newUID, nowRFC3339, randomSuffix } from './util.ts';
import { validateFinalizersOnDelete, validateMetadata } from './validation.ts';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** Who is writing and how. Internal writes (the sandbox's controllers) skip admission. */
export interface WriteContext {
  user: UserInfo;
  dryRun: boolean;
  internal?: boolean;
  fieldValidation: FieldValidation;
  warnings: string[];
  /** CreateOptions / UpdateOptions / DeleteOptions for admission. */
  options?: KubeObject | null;
}

export const INTERNAL_USER: UserInfo = {
  username: 'system:apiserver',
  groups: ['system:masters'],
};

export function internalContext(): WriteContext {
  return {
    user: INTERNAL_USER,
    dryRun: false,
    internal: true,
    fieldValidation: 'Ignore',
    warnings: [],
  };
}

/** Per-kind behaviour plugged into the generic operations (pods, namespaces, CRDs). */
export interface KindHooks {
  /** Defaults and kind rules on create; may throw a StatusError. */
  prepareCreate?(obj: KubeObject, wctx: WriteContext): void;
  /** Kind rules on update (both objects are full objects). */
  prepareUpdate?(obj: KubeObject, old: KubeObject, wctx: WriteContext): void;
  /** Field errors of the kind's own validation. */
  validate?(
    obj: KubeObject,
    old: KubeObject | undefined,
  ): { field?: string; message?: string; reason?: string }[];
  /** Runs after a write is persisted (not on dry run). */
  afterWrite?(obj: KubeObject, old: KubeObject | undefined): void;
  /** Grace period for a delete; > 0 keeps the object terminating for that long. */
  gracePeriod?(obj: KubeObject, requested: number | undefined): number;
  /** Replaces the default delete (namespaces, CRDs); returns the object as it now stands. */
  delete?(obj: KubeObject, wctx: WriteContext): KubeObject | undefined;
  afterDelete?(obj: KubeObject): void;
}

const clone = <T>(v: T): T => structuredClone(v);

const stripForGeneration = (t: ResourceType, obj: KubeObject) => {
  const { metadata: _m, status, ...rest } = obj;
  return t.statusSubresource ? rest : { ...rest, status };
};

export class ObjectAPI {
  readonly store: Store;
  readonly registry: Registry;
  readonly ctx: SandboxContext;
  readonly hooks = new Map<string, KindHooks>();
  private readonly owners = new OwnerIndex();
  private readonly graceTimers = new Map<string, NodeJS.Timeout>();

  constructor(store: Store, registry: Registry, ctx: SandboxContext) {
    this.store = store;
    this.registry = registry;
    this.ctx = ctx;
  }

  hooksOf(t: ResourceType): KindHooks {
    return this.hooks.get(resourceKey(t.group, t.resource)) ?? {};
  }

  entry(t: ResourceType, namespace: string, name: string): Entry | undefined {
    return this.store.get(resourceKey(t.group, t.resource), t.namespaced ? namespace : '', name);
  }

  read(t: ResourceType, namespace: string, name: string): KubeObject {
    const e = this.entry(t, namespace, name);
    if (!e) throw errors.notFound(t.group, t.resource, name);
    return JSON.parse(e.json) as KubeObject;
  }

  tryRead(t: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const e = this.entry(t, namespace, name);
    return e ? (JSON.parse(e.json) as KubeObject) : undefined;
  }

  /** Writes `obj` with a fresh resourceVersion and tells watchers. */
  private persist(t: ResourceType, obj: KubeObject): KubeObject {
    const rv = this.store.nextRV();
    obj.metadata.resourceVersion = String(rv);
    const entry = this.toEntry(t, obj, rv);
    this.store.put(resourceKey(t.group, t.resource), entry);
    this.owners.track(
      { type: t, namespace: entry.namespace, name: entry.name },
      obj.metadata.ownerReferences as { uid: string }[] | undefined,
    );
    return obj;
  }

  /** kube's background garbage collection of the dependents of a removed owner. */
  private collectDependents(ownerUid: string): void {
    for (const d of this.owners.dependentsOf(ownerUid)) {
      const e = this.entry(d.type, d.namespace, d.name);
      if (!e) continue;
      const obj = JSON.parse(e.json) as KubeObject;
      const refs = (obj.metadata.ownerReferences ?? []) as { uid: string }[];
      const remaining = refs.filter((r) => r.uid !== ownerUid);
      if (remaining.length) {
        obj.metadata.ownerReferences = remaining;
        this.persist(d.type, obj);
      } else if ((obj.metadata.finalizers?.length ?? 0) > 0) {
        this.markDeleting(d.type, obj, 0);
      } else {
        this.removeNow(d.type, obj);
      }
    }
  }

  toEntry(t: ResourceType, obj: KubeObject, rv: number): Entry {
    const namespace = t.namespaced ? (obj.metadata.namespace ?? '') : '';
    const name = obj.metadata.name ?? '';
    return {
      key: entryKey(namespace, name),
      namespace,
      name,
      rv,
      json: JSON.stringify(obj),
      labels: obj.metadata.labels,
      fields: selectableFields(t, obj),
    };
  }

  /** Seeds an object without admission or events bookkeeping beyond a normal write. */
  seed(t: ResourceType, obj: KubeObject): void {
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    obj.metadata.uid ??= newUID();
    obj.metadata.creationTimestamp ??= nowRFC3339();
    this.persist(t, obj);
  }

  removeNow(t: ResourceType, obj: KubeObject): KubeObject {
    const rv = this.store.nextRV();
    obj.metadata.resourceVersion = String(rv);
    const entry = this.toEntry(t, obj, rv);
    this.store.remove(resourceKey(t.group, t.resource), entry);
    this.owners.forget({ type: t, namespace: entry.namespace, name: entry.name });
    const key = `${resourceKey(t.group, t.resource)}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    clearTimeout(this.graceTimers.get(key));
    this.graceTimers.delete(key);
    this.hooksOf(t).afterDelete?.(obj);
    const uid = obj.metadata.uid;
    if (uid && this.owners.dependentsOf(uid).length) {
      setImmediate(() => this.collectDependents(uid));
    }
    return obj;
  }

  private checkTypeMeta(
    t: ResourceType,
    obj: KubeObject,
    kind = t.kind,
    apiVersion = apiVersionOf(t),
  ): void {
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw errors.badRequest(
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`,
      );
    }
    if (obj.kind !== undefined && obj.kind !== kind) {
      throw errors.badRequest(
        `the kind in the data (${String(obj.kind)}) does not match the expected kind (${kind})`,
      );
    }
  }

  private checkNamespace(
    t: ResourceType,
    obj: KubeObject,
    namespace: string,
    creating: boolean,
  ): void {
    if (!t.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
      throw errors.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    obj.metadata.namespace = namespace;
    if (!creating) return;
    const ns = this.store.get('namespaces', '', namespace);
    if (!ns) throw errors.notFound('', 'namespaces', namespace);
    if ((JSON.parse(ns.json) as KubeObject).metadata.deletionTimestamp) {
      throw errors.forbidden(
        `${groupResource(t.group, t.resource)} "${obj.metadata.name ?? ''}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        { name: obj.metadata.name ?? '', group: t.group, kind: t.resource },
      );
    }
  }

  /** Schema/kind validation, then 422 with every field error. */
  private validate(
    t: ResourceType,
    obj: KubeObject,
    old: KubeObject | undefined,
    wctx: WriteContext,
  ): KubeObject {
    let result = obj;
    const causes = validateMetadata(obj, t.resource === 'namespaces' ? 'label' : 'subdomain');
    if (t.validate) {
      const v = t.validate(obj, old);
      result = v.object;
      causes.push(...v.causes);
      if (v.unknownFields.length > 0) {
        if (wctx.fieldValidation === 'Strict') {
          throw errors.badRequest(
            `${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${v.unknownFields
              .map((f) => `unknown field "${f}"`)
              .join(', ')}`,
          );
        }
        if (wctx.fieldValidation === 'Warn') {
          for (const f of v.unknownFields) wctx.warnings.push(`unknown field "${f}"`);
        }
      }
    }
    causes.push(...(this.hooksOf(t).validate?.(result, old) ?? []));
    if (old) causes.push(...validateFinalizersOnDelete(old, result));
    if (causes.length > 0) throw errors.invalid(t.group, t.kind, obj.metadata.name ?? '', causes);
    return result;
  }

  async admit(
    t: ResourceType,
    operation: AdmissionAttributes['operation'],
    subResource: string,
    object: KubeObject | null,
    oldObject: KubeObject | null,
    name: string,
    namespace: string,
    wctx: WriteContext,
    kindOverride?: { group: string; version: string; kind: string },
  ): Promise<void> {
    if (wctx.internal) return;
    const kind = kindOverride ?? { group: t.group, version: t.version, kind: t.kind };
    const resource = { group: t.group, version: t.version, resource: t.resource };
    const result = await runValidatingAdmission(
      {
        uid: newUID(),
        kind,
        resource,
        subResource,
        requestKind: kind,
        requestResource: resource,
        requestSubResource: subResource,
        name,
        namespace: t.namespaced ? namespace : '',
        operation,
        userInfo: wctx.user,
        object,
        oldObject,
        dryRun: wctx.dryRun,
        options: wctx.options ?? null,
      },
      this.ctx,
    );
    wctx.warnings.push(...result.warnings);
    if (!result.allowed) {
      // Relayed as the webhook shaped it (kube keeps its reason, even empty, and details).
      const status = result.status ?? { code: 403, message: 'admission denied the request' };
      throw new StatusError(
        status.code || 403,
        status.reason ?? '',
        status.message,
        status.details,
      );
    }
  }

  async create(
    t: ResourceType,
    namespace: string,
    input: KubeObject,
    wctx: WriteContext,
  ): Promise<KubeObject> {
    this.checkTypeMeta(t, input);
    let obj = clone(input);
    obj.metadata ??= {};
    if (typeof obj.metadata !== 'object') throw errors.badRequest('metadata must be an object');
    if (obj.metadata.resourceVersion) {
      throw errors.badRequest('resourceVersion should not be set on objects to be created');
    }
    if (!obj.metadata.name && obj.metadata.generateName) {
      obj.metadata.name = `${obj.metadata.generateName}${randomSuffix()}`;
    }
    this.checkNamespace(t, obj, namespace, true);
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    const meta = obj.metadata;
    meta.uid = newUID();
    meta.creationTimestamp = nowRFC3339();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    if (t.generation === 'none') delete meta.generation;
    else meta.generation = 1;
    if (t.statusSubresource && t.group !== '' && t.resource !== 'customresourcedefinitions')
      delete obj.status;
    this.hooksOf(t).prepareCreate?.(obj, wctx);
    obj = this.validate(t, obj, undefined, wctx);
    const name = obj.metadata.name ?? '';
    if (this.entry(t, namespace, name)) throw errors.alreadyExists(t.group, t.resource, name);
    await this.admit(t, 'CREATE', '', obj, null, name, namespace, wctx);
    if (this.entry(t, namespace, name)) throw errors.alreadyExists(t.group, t.resource, name);
    if (wctx.dryRun) return obj;
    this.persist(t, obj);
    this.hooksOf(t).afterWrite?.(obj, undefined);
    return obj;
  }

  /**
   * Replaces the object (or, for `subresource` "status", only its status). `input` is the
   * full new object as the client sent it or as a patch produced it.
   */
  async update(
    t: ResourceType,
    namespace: string,
    name: string,
    input: KubeObject,
    wctx: WriteContext,
    subresource = '',
  ): Promise<KubeObject> {
    const old = this.read(t, namespace, name);
    this.checkTypeMeta(t, input);
    if (typeof input.metadata !== 'object' || input.metadata === null) {
      throw errors.badRequest('metadata must be an object');
    }
    if (input.metadata.name !== undefined && input.metadata.name !== name) {
      throw errors.badRequest(
        `the name of the object (${String(input.metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    const rv = input.metadata.resourceVersion;
    if (!rv && !t.unconditionalUpdate) {
      throw errors.invalid(t.group, t.kind, name, [
        {
          reason: 'FieldValueInvalid',
          field: 'metadata.resourceVersion',
          message: 'Invalid value: 0x0: must be specified for an update',
        },
      ]);
    }
    if (rv && rv !== old.metadata.resourceVersion)
      throw errors.staleUpdate(t.group, t.resource, name);
    if (input.metadata.uid && input.metadata.uid !== old.metadata.uid) {
      throw errors.conflict(
        t.group,
        t.resource,
        name,
        `Precondition failed: UID in precondition: ${input.metadata.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...clone(old), status: clone(input.status) };
      if (input.status === undefined) delete next.status;
    } else {
      next = clone(input);
      next.metadata = { ...next.metadata };
      this.checkNamespace(t, next, namespace, false);
      if (t.statusSubresource) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
      const m = next.metadata;
      for (const field of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
      ] as const) {
        if (old.metadata[field] === undefined) delete m[field];
        else (m as Record<string, unknown>)[field] = old.metadata[field];
      }
      m.name = name;
      delete m.managedFields;
    }
    next.apiVersion = apiVersionOf(t);
    next.kind = t.kind;
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (t.generation !== 'none' && subresource !== 'status') {
      const gen = old.metadata.generation ?? 1;
      const changed =
        t.generation === 'spec'
          ? !deepEqual(old.spec, next.spec)
          : !deepEqual(stripForGeneration(t, old), stripForGeneration(t, next));
      next.metadata.generation = changed ? gen + 1 : gen;
    }
    if (subresource === '') this.hooksOf(t).prepareUpdate?.(next, old, wctx);
    next = this.validate(t, next, old, wctx);
    // Admission runs even when nothing changes; only the write is skipped.
    await this.admit(t, 'UPDATE', subresource, next, old, name, namespace, wctx);
    const unchanged = deepEqual(next, old);
    if (wctx.dryRun || unchanged) return unchanged ? old : next;
    this.persist(t, next);
    this.hooksOf(t).afterWrite?.(next, old);
    this.finishDeletionIfReady(t, next);
    return next;
  }

  /** An object being deleted goes away once its finalizers are gone and its grace is over. */
  private finishDeletionIfReady(t: ResourceType, obj: KubeObject): void {
    const m = obj.metadata;
    if (!m.deletionTimestamp || (m.finalizers?.length ?? 0) > 0) return;
    if ((m.deletionGracePeriodSeconds ?? 0) > 0 && Date.parse(m.deletionTimestamp) > Date.now()) {
      this.armGraceTimer(t, obj);
      return;
    }
    this.removeNow(t, obj);
  }

  private armGraceTimer(t: ResourceType, obj: KubeObject): void {
    const key = `${resourceKey(t.group, t.resource)}/${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
    clearTimeout(this.graceTimers.get(key));
    const uid = obj.metadata.uid;
    const delay = Math.max(0, Date.parse(obj.metadata.deletionTimestamp ?? '') - Date.now());
    const timer = setTimeout(() => {
      this.graceTimers.delete(key);
      const current = this.tryRead(t, obj.metadata.namespace ?? '', obj.metadata.name ?? '');
      if (
        current &&
        current.metadata.uid === uid &&
        (current.metadata.finalizers?.length ?? 0) === 0
      ) {
        this.removeNow(t, current);
      }
    }, delay);
    timer.unref();
    this.graceTimers.set(key, timer);
  }

  stopTimers(): void {
    for (const timer of this.graceTimers.values()) clearTimeout(timer);
    this.graceTimers.clear();
  }

  /**
   * Deletes with kube's rules: preconditions, admission, finalizers and grace periods.
   * Returns the object as it now stands and whether it is gone.
   */
  async delete(
    t: ResourceType,
    namespace: string,
    name: string,
    options: Record<string, unknown>,
    wctx: WriteContext,
  ): Promise<{ object: KubeObject; gone: boolean }> {
    const old = this.read(t, namespace, name);
    const pre = (options.preconditions ?? {}) as { uid?: string; resourceVersion?: string };
    // kube's rest.BeforeDelete: a Conflict on the kind (not the resource), in its words.
    if (pre.uid && pre.uid !== old.metadata.uid) {
      throw errors.conflict(
        t.group,
        t.kind,
        name,
        `the UID in the precondition (${pre.uid}) does not match the UID in record (${old.metadata.uid}). The object might have been deleted and then recreated`,
      );
    }
    if (pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw errors.conflict(
        t.group,
        t.kind,
        name,
        `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${old.metadata.resourceVersion}). The object might have been modified`,
      );
    }
    await this.admit(t, 'DELETE', '', null, old, name, namespace, wctx);
    if (wctx.dryRun) return { object: old, gone: false };
    const hooks = this.hooksOf(t);
    if (hooks.delete) {
      const now = hooks.delete(old, wctx);
      return { object: now ?? old, gone: now === undefined };
    }
    const requested =
      typeof options.gracePeriodSeconds === 'number' ? options.gracePeriodSeconds : undefined;
    const grace = hooks.gracePeriod?.(old, requested) ?? 0;
    const hasFinalizers = (old.metadata.finalizers?.length ?? 0) > 0;
    if (!hasFinalizers && grace === 0) return { object: this.removeNow(t, old), gone: true };
    return { object: this.markDeleting(t, old, grace), gone: false };
  }

  /** Sets deletionTimestamp (or shortens a pending grace period) and keeps the object. */
  markDeleting(t: ResourceType, old: KubeObject, grace: number): KubeObject {
    const next = clone(old);
    const m = next.metadata;
    const deadline = Date.now() + grace * 1000;
    const current = m.deletionTimestamp ? Date.parse(m.deletionTimestamp) : undefined;
    if (current !== undefined && current <= deadline) return old;
    m.deletionTimestamp = nowRFC3339(deadline);
    m.deletionGracePeriodSeconds = grace;
    if (t.generation !== 'none' && current === undefined) m.generation = (m.generation ?? 1) + 1;
    if (grace === 0 && (m.finalizers?.length ?? 0) === 0) return this.removeNow(t, next);
    this.persist(t, next);
    this.finishDeletionIfReady(t, next);
    return next;
  }

  /** Deletes every object of `t` in `namespace` ("" = all) as the sandbox itself. */
  deleteAllInternal(t: ResourceType, namespace: string): void {
    for (const e of [
      ...this.store.list(resourceKey(t.group, t.resource), namespace || undefined),
    ]) {
      const obj = JSON.parse(e.json) as KubeObject;
      if ((obj.metadata.finalizers?.length ?? 0) > 0) this.markDeleting(t, obj, 0);
      else this.removeNow(t, obj);
    }
  }

  /** Writes `obj` as the sandbox's own controller would (no admission, no validation). */
  writeInternal(t: ResourceType, obj: KubeObject): KubeObject {
    return this.persist(t, obj);
  }
}
