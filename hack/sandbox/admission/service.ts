// How a webhook's clientConfig.service becomes an address to dial, by kube-apiserver's
// rules for services (ResolveCluster): ExternalName dials `<externalName>:<port>`;
// ClusterIP, NodePort and LoadBalancer need a service port equal to the requested one and
// dial the ClusterIP. The sandbox has no Service network, so the ClusterIP is stood in
// for by the Service's `sandbox.trustgate.dev/address` annotation (what kube-proxy would
// route to). Pure: the caller looks the Service up.
import type { KubeObject } from '../types.ts';
import { isRecord } from '../util.ts';

/** A Service annotation naming the host:port (or https URL) that stands in for its ClusterIP. */
export const SERVICE_ADDRESS_ANNOTATION = 'sandbox.trustgate.dev/address';

export type ServiceResolution = { base: string } | { unreachable: string };

const hostPort = (host: string, port: number) =>
  host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;

export function resolveServiceBase(
  svc: KubeObject | undefined,
  name: string,
  port: number,
): ServiceResolution {
  if (!svc) return { unreachable: `service "${name}" not found` };
  const spec = isRecord(svc.spec) ? svc.spec : {};
  const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP';
  if (type === 'ExternalName') {
    const external = typeof spec.externalName === 'string' ? spec.externalName : '';
    return { base: `https://${hostPort(external, port)}` };
  }
  if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(type)) {
    return { unreachable: `unsupported service type "${type}"` };
  }
  if (spec.clusterIP === 'None') {
    return { unreachable: 'cannot route to service with ClusterIP "None"' };
  }
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  if (!ports.some((p) => isRecord(p) && p.port === port)) {
    return { unreachable: `no service port ${port} found for service "${name}"` };
  }
  const address = svc.metadata.annotations?.[SERVICE_ADDRESS_ANNOTATION];
  if (!address) {
    const ip = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
    return {
      unreachable: `dial tcp ${hostPort(ip, port)}: connect: network is unreachable (the sandbox has no Service network; annotate the Service with ${SERVICE_ADDRESS_ANNOTATION}=<host:port>)`,
    };
  }
  return { base: address.includes('://') ? address : `https://${address}` };
}
