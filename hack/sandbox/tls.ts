// A throwaway CA and a serving certificate for the sandbox, made fresh at every start.
// The CA goes into the kubeconfig as certificate-authority-data so clients verify TLS.
import { webcrypto } from 'node:crypto';
import './reflect-shim.ts';

// Loaded lazily: the Reflect shim must run before x509 (and tsyringe) are evaluated,
// which static imports do not guarantee when a CommonJS build is linked (Jest).
const x509 = await import('@peculiar/x509');

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface ServingMaterial {
  caPem: string;
  certPem: string;
  keyPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Creates a CA and a leaf for `hosts` (DNS names or IP addresses), valid for `days`. */
export async function createServingMaterial(hosts: string[], days = 365): Promise<ServingMaterial> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + days * 86_400_000);
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=trustgate-sandbox-ca',
    keys: caKeys as CryptoKeyPair,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey as CryptoKey),
    ],
  });
  const leafKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const isIp = (h: string) => /^[\d.]+$/.test(h) || h.includes(':');
  const leaf = await x509.X509CertificateGenerator.create({
    subject: 'CN=trustgate-sandbox',
    issuer: ca.subject,
    publicKey: leafKeys.publicKey as CryptoKey,
    signingKey: caKeys.privateKey as CryptoKey,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        hosts.map((h) => ({ type: isIp(h) ? 'ip' : 'dns', value: h })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey as CryptoKey),
    ],
  });
  const keyDer = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey as CryptoKey);
  return {
    caPem: ca.toString('pem'),
    certPem: leaf.toString('pem'),
    keyPem: pem('PRIVATE KEY', keyDer),
  };
}
