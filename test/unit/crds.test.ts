import { describe, expect, it } from '@jest/globals';
import { generatedFiles } from '../../hack/gen-api.ts';
import { CRDS, toCustomResourceDefinition } from '../../operator/api/crds.ts';

describe('CRD source of truth', () => {
  it('gives every CRD a status subresource, the trustgate category and short names', () => {
    for (const source of CRDS) {
      const crd = toCustomResourceDefinition(source) as {
        spec: {
          names: { categories: string[]; shortNames: string[] };
          versions: { subresources: object }[];
        };
      };
      expect(crd.spec.names.categories).toEqual(['trustgate']);
      expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
      expect(crd.spec.versions[0]?.subresources).toEqual({ status: {} });
    }
  });

  it('gives printer columns that add to NAME and print every time readably', () => {
    for (const source of CRDS) {
      const names = source.printerColumns.map((c) => c.name.toUpperCase());
      expect(new Set(names).size).toBe(names.length);
      // kubectl always prints NAME first; a column of metadata.name repeats it.
      expect(source.printerColumns.map((c) => c.jsonPath)).not.toContain('.metadata.name');
      // A `date` column prints an age; a time in the future would print `<invalid>`.
      const dated = source.printerColumns.filter((c) => c.type === 'date');
      for (const column of dated) expect(column.jsonPath).not.toMatch(/expires|notAfter/i);
    }
    const attestation = CRDS.find((c) => c.kind === 'NodeAttestation');
    expect(attestation?.printerColumns.filter((c) => !c.priority).map((c) => c.name)).toEqual([
      'Verified',
      'Trusted-By',
      'Issued',
      'Expires',
      'Age',
    ]);
  });

  it('generates one YAML per CRD and the TypeScript types', () => {
    const files = [...generatedFiles().keys()].sort();
    expect(files).toEqual([
      'crds/endpointtrustpolicies.trustgate.dev.yaml',
      'crds/nodeattestations.trustgate.dev.yaml',
      'crds/trustexemptions.trustgate.dev.yaml',
      'crds/workloadgrants.trustgate.dev.yaml',
      'operator/api/types.generated.ts',
    ]);
    expect(generatedFiles().get('operator/api/types.generated.ts')).toContain(
      'export interface EndpointTrustPolicySpec',
    );
  });
});
