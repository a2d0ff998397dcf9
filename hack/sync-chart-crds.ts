// Copies the generated CRDs (crds/*.yaml, from `npm run gen`) into the Helm chart's
// crds/ directory, which Helm installs before the templates. The chart copies are never
// edited by hand. `--check` writes nothing and exits 1 when the copies differ.
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SOURCE_DIR = path.join(root, 'crds');
export const CHART_CRD_DIR = path.join(root, 'charts', 'trustgate', 'crds');

async function yamlFiles(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.yaml'));
  const files = new Map<string, string>();
  for (const name of names.sort()) files.set(name, await readFile(path.join(dir, name), 'utf8'));
  return files;
}

/** Names of chart CRD files that are missing, stale or extra; empty when in sync. */
export async function chartCrdDrift(): Promise<string[]> {
  const [source, chart] = await Promise.all([yamlFiles(SOURCE_DIR), yamlFiles(CHART_CRD_DIR)]);
  const drift: string[] = [];
  for (const [name, text] of source) {
    if (!chart.has(name)) drift.push(`${name} (missing from the chart)`);
    else if (chart.get(name) !== text) drift.push(`${name} (differs)`);
  }
  for (const name of chart.keys()) if (!source.has(name)) drift.push(`${name} (not generated)`);
  return drift;
}

/** Makes the chart's crds/ an exact copy of the generated crds/. */
export async function syncChartCrds(): Promise<void> {
  const [source, chart] = await Promise.all([yamlFiles(SOURCE_DIR), yamlFiles(CHART_CRD_DIR)]);
  if (source.size === 0) throw new Error(`no CRDs in ${SOURCE_DIR}; run npm run gen first`);
  for (const [name, text] of source) await writeFile(path.join(CHART_CRD_DIR, name), text);
  for (const name of chart.keys()) {
    if (!source.has(name)) await rm(path.join(CHART_CRD_DIR, name));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  if (process.argv.includes('--check')) {
    const drift = await chartCrdDrift();
    if (drift.length > 0) {
      console.error(
        `charts/trustgate/crds is out of date: ${drift.join(', ')}\nrun: node hack/sync-chart-crds.ts`,
      );
      process.exit(1);
    }
  } else {
    await syncChartCrds();
    console.log(`copied crds/*.yaml to ${path.relative(root, CHART_CRD_DIR)}`);
  }
}
