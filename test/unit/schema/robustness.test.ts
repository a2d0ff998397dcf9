import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { defaultedResource } from '../../../operator/schema/resources.ts';

const API = 'trustgate.dev/v1alpha1';

describe('schema application never throws', () => {
  it('on arbitrary JSON in any field of any trustgate kind', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('NodeAttestation', 'EndpointTrustPolicy', 'WorkloadGrant'),
        fc.jsonValue(),
        fc.jsonValue(),
        (kind, spec, metadata) => {
          const r = defaultedResource({ apiVersion: API, kind, metadata, spec });
          expect(Array.isArray(r.errors)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('on policies with mutated attestation sections', () => {
    const attestation = fc.record(
      {
        verifiers: fc.array(
          fc.record(
            {
              name: fc.string(),
              issuer: fc.string(),
              jwks: fc.jsonValue(),
              algorithms: fc.array(fc.string()),
            },
            { requiredKeys: [] },
          ),
        ),
        maxAge: fc.oneof(fc.string(), fc.constantFrom('5m', '1h', '0s', '1.5h')),
        posture: fc.array(
          fc.record(
            { key: fc.string(), operator: fc.string(), values: fc.array(fc.string()) },
            { requiredKeys: [] },
          ),
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(attestation, (a) => {
        const r = defaultedResource({
          apiVersion: API,
          kind: 'EndpointTrustPolicy',
          metadata: { name: 'p' },
          spec: { attestation: a },
        });
        expect(Array.isArray(r.errors)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('treats a "__proto__" key as data and prunes it', () => {
    const obj = JSON.parse(
      `{"apiVersion":"${API}","kind":"WorkloadGrant","metadata":{"name":"g"},"spec":{"serviceAccountName":"a","policyRef":{"name":"p"},"__proto__":{"polluted":true}}}`,
    );
    const r = defaultedResource(obj);
    expect(r.errors.map((e) => e.message)).toEqual(['unknown field "spec.__proto__"']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
