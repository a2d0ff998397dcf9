// Owner-reference garbage collection, as kube-controller-manager's garbage collector does
// it in the background: once an owner is gone, each dependent loses that reference, and a
// dependent whose owners are all gone is deleted (through its finalizers and grace). Kept
// in an index by owner uid, so deleting an object that owns nothing costs a map lookup.
import type { ResourceType } from './resources.ts';

interface OwnerRef {
  uid: string;
}

export interface Dependent {
  type: ResourceType;
  namespace: string;
  name: string;
}

const depKey = (d: Dependent) => `${d.type.group}/${d.type.resource}/${d.namespace}/${d.name}`;

export class OwnerIndex {
  private readonly byOwner = new Map<string, Map<string, Dependent>>();
  private readonly ownersOf = new Map<string, string[]>();

  /** Records the owners `obj` names now (call on every persisted write). */
  track(d: Dependent, owners: OwnerRef[] | undefined): void {
    this.forget(d);
    const uids = (owners ?? []).map((o) => o.uid).filter(Boolean);
    if (!uids.length) return;
    const key = depKey(d);
    this.ownersOf.set(key, uids);
    for (const uid of uids) {
      const deps = this.byOwner.get(uid) ?? new Map<string, Dependent>();
      deps.set(key, d);
      this.byOwner.set(uid, deps);
    }
  }

  /** Drops what `d` owned-by (call when it is removed). */
  forget(d: Dependent): void {
    const key = depKey(d);
    for (const uid of this.ownersOf.get(key) ?? []) {
      const deps = this.byOwner.get(uid);
      deps?.delete(key);
      if (deps && !deps.size) this.byOwner.delete(uid);
    }
    this.ownersOf.delete(key);
  }

  /** Dependents naming the owner uid. */
  dependentsOf(uid: string): Dependent[] {
    return [...(this.byOwner.get(uid)?.values() ?? [])];
  }
}
