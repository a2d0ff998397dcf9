// The webhook's certificate authority and serving certificates (ECDSA P-256), as PEM.
// The CA is long-lived and only signs serving certificates; serving certificates are short
// and renewed by the rotation plan (rotation.ts).
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { x509 } from './x509.ts';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/**
 * Certificates start a little in the past so a peer with a slow clock accepts them; a
 * tenth of the lifetime at most, so short test lifetimes still rotate on time.
 */
const backdate = (lifetimeMs: number) => Math.min(5 * 60_000, Math.floor(lifetimeMs / 10));

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

/** One PEM block per certificate, LF line ends, one trailing newline (bundles compare by text). */
const normalizePem = (text: string) => `${text.replace(/\r\n/g, '\n').trim()}\n`;

function pem(label: string, der: ArrayBuffer): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function exportKey(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

async function importKey(keyPem: string): Promise<CryptoKey> {
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
}

const serial = () =>
  Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');

/** A self-signed CA for `lifetimeMs` from `now`. */
export async function createCertificateAuthority(
  commonName: string,
  now: number,
  lifetimeMs: number,
): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    keys,
    notBefore: new Date(now - backdate(lifetimeMs)),
    notAfter: new Date(now + lifetimeMs),
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: normalizePem(cert.toString('pem')), keyPem: await exportKey(keys.privateKey) };
}

/** What a leaf certificate says about its holder. */
interface LeafProfile {
  subject: string;
  usage: 'serverAuth' | 'clientAuth';
  /** DNS names and IP addresses for the subjectAltName (serving certificates). */
  hosts?: string[];
}

async function issueLeaf(
  ca: KeyPairPem,
  profile: LeafProfile,
  now: number,
  lifetimeMs: number,
): Promise<KeyPairPem> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importKey(ca.keyPem);
  const keys = await generateKeys();
  const hosts = profile.hosts ?? [];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: profile.subject,
    issuer: caCert.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    notBefore: new Date(now - backdate(lifetimeMs)),
    notAfter: new Date(Math.min(now + lifetimeMs, caCert.notAfter.getTime())),
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage[profile.usage]]),
      ...(hosts.length
        ? [
            new x509.SubjectAlternativeNameExtension(
              hosts.map((h) => ({ type: isIP(h) ? 'ip' : 'dns', value: h })),
            ),
          ]
        : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: normalizePem(cert.toString('pem')), keyPem: await exportKey(keys.privateKey) };
}

/** A serving certificate for `hosts` (DNS names or IP addresses) signed by the CA. */
export function issueServingCertificate(
  ca: KeyPairPem,
  hosts: string[],
  now: number,
  lifetimeMs: number,
): Promise<KeyPairPem> {
  const subject = `CN=${hosts[0] ?? 'trustgate-webhook'}`;
  return issueLeaf(ca, { subject, usage: 'serverAuth', hosts }, now, lifetimeMs);
}

/**
 * A client certificate as Kubernetes reads one: the common name is the user, each
 * organization a group (`system:node:n1` in `system:nodes` is that node's kubelet).
 */
export function issueClientCertificate(
  ca: KeyPairPem,
  user: { name: string; groups?: string[] },
  now: number,
  lifetimeMs: number,
): Promise<KeyPairPem> {
  const rdn = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1');
  const subject = [`CN=${rdn(user.name)}`, ...(user.groups ?? []).map((g) => `O=${rdn(g)}`)].join(
    ', ',
  );
  return issueLeaf(ca, { subject, usage: 'clientAuth' }, now, lifetimeMs);
}

export interface CertificateFacts {
  notBefore: number;
  notAfter: number;
  /** DNS names and IP addresses in the subjectAltName. */
  hosts: string[];
  issuer: string;
  subject: string;
}

/** What rotation needs to know about the first certificate in a PEM; undefined if unreadable. */
export function readCertificate(certPem: string): CertificateFacts | undefined {
  try {
    const cert = new x509.X509Certificate(certPem);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const hosts = (san?.names.items ?? []).map((n) => n.value);
    return {
      notBefore: cert.notBefore.getTime(),
      notAfter: cert.notAfter.getTime(),
      hosts,
      issuer: cert.issuer,
      subject: cert.subject,
    };
  } catch {
    return undefined;
  }
}

/** Every certificate in a PEM bundle. */
export function splitPemBundle(bundle: string): string[] {
  return (
    bundle
      .match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g)
      ?.map(normalizePem) ?? []
  );
}
