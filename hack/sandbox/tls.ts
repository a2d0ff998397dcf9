// A throwaway CA and a serving certificate for the sandbox, made fresh at every start.
// The CA goes into the kubeconfig as certificate-authority-data so clients verify TLS.
// Built by the webhook's certificate code (which also installs the Reflect shim x509 needs).
import {
  createCertificateAuthority,
  issueServingCertificate,
} from '../../webhook/tls/certificates.ts';

export interface ServingMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Creates a CA and a leaf for `hosts` (DNS names or IP addresses), valid for `days`. */
export async function createServingMaterial(hosts: string[], days = 365): Promise<ServingMaterial> {
  const now = Date.now();
  const lifetimeMs = days * 86_400_000;
  const ca = await createCertificateAuthority('trustgate-sandbox-ca', now, lifetimeMs);
  const leaf = await issueServingCertificate(ca, hosts, now, lifetimeMs);
  return { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
}
