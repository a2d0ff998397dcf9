// Where the real control plane's binaries come from, by the envtest convention:
// KUBEBUILDER_ASSETS names a folder with etcd and kube-apiserver (and optionally
// kube-controller-manager and kube-scheduler), as `setup-envtest use -p path` prints.
// Without it, the gzip-compressed binaries in ../shared/k8s/<version>/ are unpacked once
// into .tools/k8s/<version>/ (again only when a .gz changes).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The Kubernetes version CI runs the real tier on. */
export const SHARED_K8S_VERSION = 'v1.33.3';
export const SHARED_K8S_DIR = path.resolve(root, '..', 'shared', 'k8s', SHARED_K8S_VERSION);
const CACHE_DIR = path.join(root, '.tools', 'k8s', SHARED_K8S_VERSION);

export const REQUIRED_BINARIES = ['etcd', 'kube-apiserver'] as const;
export const OPTIONAL_BINARIES = ['kube-controller-manager', 'kube-scheduler'] as const;

/** True when `dir` holds at least etcd and kube-apiserver. */
export function isAssetsDir(dir: string | undefined): dir is string {
  return !!dir && REQUIRED_BINARIES.every((b) => existsSync(path.join(dir, b)));
}

/**
 * Unpacks ../shared/k8s/<version>/*.gz into the project's cache; returns that folder, or
 * undefined when the shared binaries are not on this machine. A stamp per binary (the
 * .gz's sha256) makes the second call cost only the hashing.
 */
export async function unpackSharedAssets(
  from = SHARED_K8S_DIR,
  to = CACHE_DIR,
): Promise<string | undefined> {
  if (!existsSync(from)) return undefined;
  const archives = (await readdir(from)).filter((f) => f.endsWith('.gz'));
  if (!archives.length) return undefined;
  await mkdir(to, { recursive: true });
  for (const archive of archives) {
    const name = archive.slice(0, -'.gz'.length);
    const gz = await readFile(path.join(from, archive));
    const digest = createHash('sha256').update(gz).digest('hex');
    const stamp = path.join(to, `.${name}.sha256`);
    const target = path.join(to, name);
    const seen = await readFile(stamp, 'utf8').catch(() => '');
    if (seen === digest && existsSync(target)) continue;
    // Write then rename: a concurrent test worker never runs a half-written binary.
    const tmp = `${target}.${process.pid}.tmp`;
    await writeFile(tmp, gunzipSync(gz));
    await chmod(tmp, 0o755);
    await rename(tmp, target);
    await writeFile(stamp, digest);
  }
  return to;
}

/** KUBEBUILDER_ASSETS when it names a usable folder, else the unpacked shared binaries. */
export async function resolveAssets(
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (env.KUBEBUILDER_ASSETS) {
    if (!isAssetsDir(env.KUBEBUILDER_ASSETS)) {
      throw new Error(
        `KUBEBUILDER_ASSETS=${env.KUBEBUILDER_ASSETS} has no ${REQUIRED_BINARIES.join(' and ')}`,
      );
    }
    return env.KUBEBUILDER_ASSETS;
  }
  return unpackSharedAssets();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = await resolveAssets();
  if (!dir) {
    console.error(`no Kubernetes binaries: set KUBEBUILDER_ASSETS or provide ${SHARED_K8S_DIR}`);
    process.exit(1);
  }
  console.log(dir);
}
