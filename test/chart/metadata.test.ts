// Chart.yaml: what Artifact Hub and `helm show chart` tell people about trustgate.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import yaml from 'js-yaml';
import { CRDS, GROUP, VERSION } from '../../operator/api/crds.ts';
import { CHART_DIR, ROOT } from './support.ts';

interface Chart {
  home: string;
  sources: string[];
  keywords: string[];
  maintainers: { name: string; url?: string; email?: string }[];
  annotations: Record<string, string>;
}

const chart = async () =>
  yaml.load(await readFile(path.join(CHART_DIR, 'Chart.yaml'), 'utf8')) as Chart;

describe('Chart.yaml', () => {
  it('says where trustgate lives and who maintains it', async () => {
    const { home, sources, keywords, maintainers } = await chart();
    for (const url of [home, ...sources]) expect(new URL(url).protocol).toBe('https:');
    expect(sources.length).toBeGreaterThan(0);
    expect(keywords).toEqual(expect.arrayContaining(['admission-webhook', 'zero-trust']));
    expect(maintainers.length).toBeGreaterThan(0);
  });

  it('gives Artifact Hub the license of package.json and links that parse', async () => {
    const { annotations } = await chart();
    const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
    expect(annotations['artifacthub.io/license']).toBe(pkg.license);
    const links = yaml.load(annotations['artifacthub.io/links'] ?? '') as {
      name: string;
      url: string;
    }[];
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) {
      expect(link.name).toBeTruthy();
      expect(new URL(link.url).protocol).toBe('https:');
    }
  });

  it('lists for Artifact Hub exactly the CRDs the chart installs', async () => {
    const { annotations } = await chart();
    const listed = yaml.load(annotations['artifacthub.io/crds'] ?? '') as {
      kind: string;
      version: string;
      name: string;
      displayName: string;
      description: string;
    }[];
    expect(listed.map(({ kind, version, name }) => ({ kind, version, name }))).toEqual(
      CRDS.map((c) => ({ kind: c.kind, version: VERSION, name: `${c.plural}.${GROUP}` })),
    );
    for (const crd of listed) expect(crd.displayName && crd.description).toBeTruthy();
  });
});
