// Core v1 Events: kube's rule that an event lives in its object's namespace (events about
// cluster-scoped objects, such as Nodes, go to "default").
import type { KindHooks } from './api.ts';
import { fieldError } from './errors.ts';
import { isRecord } from './util.ts';

export function eventHooks(): KindHooks {
  return {
    validate(ev) {
      // kube checks this on old-style events (no eventTime) only.
      if (ev.eventTime) return [];
      const involved = isRecord(ev.involvedObject) ? ev.involvedObject : {};
      const theirs = typeof involved.namespace === 'string' ? involved.namespace : '';
      const ours = ev.metadata.namespace ?? '';
      const ok = theirs ? theirs === ours : ours === '' || ours === 'default';
      return ok
        ? []
        : [
            fieldError(
              'FieldValueInvalid',
              'involvedObject.namespace',
              `Invalid value: ${JSON.stringify(theirs)}: does not match event.namespace`,
            ),
          ];
    },
  };
}
