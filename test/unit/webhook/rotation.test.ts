import { describe, expect, it } from '@jest/globals';
import { readCertificate, splitPemBundle } from '../../../webhook/tls/certificates.ts';
import {
  nextRotationCheck,
  planRotation,
  type RotationPolicy,
  secretDataFromState,
  stateFromSecretData,
} from '../../../webhook/tls/rotation.ts';

const HOSTS = ['trustgate.trustgate-system.svc', 'trustgate.trustgate-system.svc.cluster.local'];
const HOUR = 3_600_000;
const policy: RotationPolicy = {
  caLifetimeMs: 30 * HOUR,
  servingLifetimeMs: 3 * HOUR,
  renewAt: 2 / 3,
  caPropagationMs: HOUR,
  caCommonName: 'test-ca',
};
const T0 = Date.parse('2026-11-25T00:00:00Z');

describe('planRotation', () => {
  it('creates a CA and a serving certificate for the hosts', async () => {
    const s = await planRotation(undefined, HOSTS, T0, policy);
    expect(s).toBeDefined();
    const serving = readCertificate(s?.serving.certPem ?? '');
    expect(serving?.hosts).toEqual(HOSTS);
    expect(serving?.issuer).toBe('CN=test-ca');
    expect(splitPemBundle(s?.caBundle ?? '')).toHaveLength(1);
    expect(await planRotation(s, HOSTS, T0 + HOUR, policy)).toBeUndefined();
  });

  it('renews the serving certificate at 2/3 of its life with the same CA', async () => {
    const s = await planRotation(undefined, HOSTS, T0, policy);
    if (!s) throw new Error('no state');
    const at = nextRotationCheck(s, policy);
    expect(at).toBeLessThanOrEqual(T0 + 2 * HOUR);
    const renewed = await planRotation(s, HOSTS, at + 1, policy);
    expect(renewed?.serving.certPem).not.toBe(s.serving.certPem);
    expect(renewed?.caBundle).toBe(s.caBundle);
  });

  it('reissues when a host is missing', async () => {
    const s = await planRotation(undefined, HOSTS, T0, policy);
    const more = await planRotation(s, [...HOSTS, '127.0.0.1'], T0 + 1000, policy);
    expect(readCertificate(more?.serving.certPem ?? '')?.hosts).toContain('127.0.0.1');
  });

  it('changes the CA in two steps, keeping the old CA trusted', async () => {
    let s = await planRotation(undefined, HOSTS, T0, policy);
    if (!s) throw new Error('no state');
    const oldCa = s.signer.certPem;
    const t1 = T0 + 21 * HOUR; // past 2/3 of 30 h
    s = (await planRotation(s, HOSTS, t1, policy)) ?? s;
    expect(s.next).toBeDefined();
    expect(s.signer.certPem).toBe(oldCa); // step 1: published, not signing
    expect(splitPemBundle(s.caBundle)).toHaveLength(2);
    const t2 = t1 + HOUR + 1;
    s = (await planRotation(s, HOSTS, t2, policy)) ?? s;
    expect(s.next).toBeUndefined();
    expect(s.signer.certPem).not.toBe(oldCa);
    expect(readCertificate(s.serving.certPem)?.notBefore).toBeGreaterThan(t1);
    expect(splitPemBundle(s.caBundle)).toContain(oldCa); // old CA until it expires
  });

  it('round-trips through Secret data', async () => {
    const s = await planRotation(undefined, HOSTS, T0, policy);
    if (!s) throw new Error('no state');
    expect(stateFromSecretData(secretDataFromState(s))).toEqual(s);
    expect(stateFromSecretData({ 'tls.crt': 'eA==' })).toBeUndefined();
  });
});
