// The set of served resources: the built-ins plus whatever established CRDs add.
import { builtinResources, type ResourceType, resourceKey } from './resources.ts';

export class Registry {
  private readonly byGVR = new Map<string, ResourceType>();
  /** CRD name → the types it registered (one per served version). */
  private readonly fromCRD = new Map<string, ResourceType[]>();

  constructor() {
    for (const t of builtinResources()) this.add(t);
  }

  private add(t: ResourceType): void {
    this.byGVR.set(`${t.group}/${t.version}/${t.resource}`, t);
  }

  lookup(group: string, version: string, resource: string): ResourceType | undefined {
    return this.byGVR.get(`${group}/${version}/${resource}`);
  }

  all(): ResourceType[] {
    return [...this.byGVR.values()];
  }

  /** Replaces what CRD `name` serves. */
  setCRD(name: string, types: ResourceType[]): void {
    this.removeCRD(name);
    for (const t of types) this.add(t);
    this.fromCRD.set(name, types);
  }

  removeCRD(name: string): void {
    for (const t of this.fromCRD.get(name) ?? []) {
      this.byGVR.delete(`${t.group}/${t.version}/${t.resource}`);
    }
    this.fromCRD.delete(name);
  }

  /** True when another served resource already uses this plural, kind or short name. */
  conflicts(crdName: string, group: string, names: { plural: string; kind: string }): boolean {
    return this.all().some(
      (t) =>
        t.group === group &&
        (t.resource === names.plural || t.kind === names.kind) &&
        !(this.fromCRD.get(crdName) ?? []).includes(t),
    );
  }

  static storageKey(t: Pick<ResourceType, 'group' | 'resource'>): string {
    return resourceKey(t.group, t.resource);
  }
}
