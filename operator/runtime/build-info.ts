// What build this process is: the version from package.json (which the image ships), the
// git commit when the build said which (TRUSTGATE_COMMIT, a Dockerfile build arg), and the
// Node version. Shared by `trustgate version` and the trustgate_build_info metric; kept
// free of heavy imports so the version command stays instant.
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  version: string;
  commit: string;
  node: string;
}

const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

let version: string | undefined;

function packageVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version?: unknown };
      version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

export function buildInfo(env: NodeJS.ProcessEnv = process.env): BuildInfo {
  return {
    version: packageVersion(),
    commit: env.TRUSTGATE_COMMIT?.trim() || 'unknown',
    node: process.version,
  };
}
