// docs/gitops.md shows the Argo CD health check that docs/argocd-cm.yaml installs; both
// must stay one script, registered for every kind operator/api/crds.ts defines.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { CRDS, GROUP } from '../../operator/api/crds.ts';

const docs = path.resolve('docs');
// Kinds with conditions; a TrustExemption has no status (Argo CD and Flux count it healthy).
const reconciled = CRDS.filter((c) => c.status.properties?.conditions);

describe('the Argo CD health check', () => {
  it('is one script, for every trustgate kind, the one docs/gitops.md shows', async () => {
    const configMap = yaml.load(await readFile(path.join(docs, 'argocd-cm.yaml'), 'utf8')) as {
      data: Record<string, string>;
    };
    const keys = reconciled.map((c) => `resource.customizations.health.${GROUP}_${c.kind}`);
    expect(Object.keys(configMap.data).sort()).toEqual(keys.sort());
    const scripts = new Set(Object.values(configMap.data));
    expect(scripts.size).toBe(1);
    const [script] = scripts;
    const page = await readFile(path.join(docs, 'gitops.md'), 'utf8');
    const shown = page.match(/```lua\n([\s\S]*?)```/)?.[1];
    expect(shown).toBe(script);
  });

  it('leaves out only kinds without status', () => {
    expect(CRDS.filter((c) => !reconciled.includes(c)).map((c) => c.kind)).toEqual([
      'TrustExemption',
    ]);
  });

  it('has a Flux health expression for every trustgate kind', async () => {
    const page = await readFile(path.join(docs, 'gitops.md'), 'utf8');
    for (const crd of reconciled) expect(page).toContain(`kind: ${crd.kind}\n      current:`);
  });
});
