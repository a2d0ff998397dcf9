// The chart ships the generated CRDs unchanged (copied by hack/sync-chart-crds.ts).
import { describe, expect, it } from '@jest/globals';
import { chartCrdDrift } from '../../hack/sync-chart-crds.ts';
import { CRDS, GROUP } from '../../operator/api/crds.ts';
import { renderChart } from './support.ts';

describe('chart CRDs', () => {
  it('are byte-for-byte the generated crds/*.yaml (run node hack/sync-chart-crds.ts)', async () => {
    expect(await chartCrdDrift()).toEqual([]);
  });

  it('are installed by helm with --include-crds, one per resource in the API source', async () => {
    const { objects } = await renderChart({}, ['--include-crds']);
    const names = objects
      .filter((o) => o.kind === 'CustomResourceDefinition')
      .map((o) => o.metadata.name)
      .sort();
    expect(names).toEqual(CRDS.map((c) => `${c.plural}.${GROUP}`).sort());
  });
});
