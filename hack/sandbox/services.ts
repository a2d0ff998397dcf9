// Services only exist here so webhook clientConfig.service can name one (admission.ts
// maps it to a local address); the sandbox gives ClusterIP services an address.
import type { KindHooks } from './api.ts';
import { isRecord } from './util.ts';

export function serviceHooks(): KindHooks {
  let next = 1;
  return {
    prepareCreate(svc) {
      const spec = isRecord(svc.spec) ? svc.spec : {};
      svc.spec = spec;
      spec.type ??= 'ClusterIP';
      if (spec.type === 'ClusterIP' && spec.clusterIP === undefined) {
        spec.clusterIP = `10.96.${Math.floor(next / 250)}.${(next % 250) + 1}`;
        spec.clusterIPs = [spec.clusterIP];
        next++;
      }
      spec.sessionAffinity ??= 'None';
      svc.status = { loadBalancer: {} };
    },
  };
}
