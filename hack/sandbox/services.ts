// Services: kube's defaults (ClusterIP type and address, port protocol and targetPort,
// single-stack IPv4) so they read back as kube's do. There is no Service network; a
// webhook's clientConfig.service is reached as admission/service.ts describes.
import type { KindHooks } from './api.ts';
import { isRecord } from './util.ts';

export function serviceHooks(): KindHooks {
  let next = 1;
  return {
    prepareCreate(svc) {
      const spec = isRecord(svc.spec) ? svc.spec : {};
      svc.spec = spec;
      spec.type ??= 'ClusterIP';
      if (spec.type !== 'ExternalName') {
        if (spec.clusterIP === undefined) {
          spec.clusterIP = `10.96.${Math.floor(next / 250)}.${(next % 250) + 1}`;
          next++;
        }
        spec.clusterIPs ??= [spec.clusterIP];
        if (spec.clusterIP !== 'None' || spec.selector !== undefined) {
          spec.ipFamilies ??= ['IPv4'];
          spec.ipFamilyPolicy ??= 'SingleStack';
        }
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      for (const port of Array.isArray(spec.ports) ? spec.ports : []) {
        if (!isRecord(port)) continue;
        port.protocol ??= 'TCP';
        if (spec.type !== 'ExternalName') port.targetPort ??= port.port;
      }
      spec.sessionAffinity ??= 'None';
      svc.status = { loadBalancer: {} };
    },
  };
}
