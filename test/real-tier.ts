// `npm run test:real`: the cluster-facing suites (integration, conformance, chart apply,
// demo) once more, on a real control plane per test file started from envtest binaries:
// KUBEBUILDER_ASSETS, or ../shared/k8s/<version> unpacked into .tools/k8s. With
// TRUSTGATE_TEST_KUBECONFIG they run against that existing cluster instead. Extra
// arguments go to Jest (a path narrows the run).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveAssets, SHARED_K8S_DIR } from '../hack/envtest/assets.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The suites that talk to a cluster through test/support/cluster.ts. */
export const REAL_TIER_SUITES = [
  'test/integration/',
  'test/sandbox/rest.test.ts',
  'test/sandbox/kubectl.test.ts',
  'test/sandbox/watch.test.ts',
  'test/sandbox/builtins.test.ts',
  'test/sandbox/errors.test.ts',
  'test/sandbox/gc.test.ts',
  'test/sandbox/identity/e2e.test.ts',
  'test/chart/apply.test.ts',
  'test/chart/run-with-chart-flags.test.ts',
  'test/chart/lifecycle.test.ts',
  'test/demo/',
];

const external = process.env.TRUSTGATE_TEST_KUBECONFIG;
const assets = external ? undefined : await resolveAssets();
if (!external && !assets) {
  console.log(`tier real: not run, no Kubernetes binaries (KUBEBUILDER_ASSETS, ${SHARED_K8S_DIR})`);
  process.exit(0);
}
const extra = process.argv.slice(2);
const paths = extra.some((a) => !a.startsWith('-')) ? [] : REAL_TIER_SUITES;
const child = spawn(
  process.execPath,
  [
    '--experimental-vm-modules',
    '--disable-warning=ExperimentalWarning',
    path.join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
    // One control plane at a time: two cores cannot start several and run their tests.
    '--runInBand',
    ...paths,
    ...extra,
  ],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      ...(assets ? { KUBEBUILDER_ASSETS: assets } : {}),
    },
  },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
