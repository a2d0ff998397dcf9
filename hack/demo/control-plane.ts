// The control plane the demo tells its story on: the embedded sandbox (the default), or
// with --real a real etcd, kube-apiserver, kube-controller-manager and kube-scheduler from
// envtest binaries (KUBEBUILDER_ASSETS, or ../shared/k8s unpacked into .tools/k8s), whose
// kubelets are played by clients holding system:node:NAME certificates.
import { KubeConfig } from '@kubernetes/client-node';
import { resolveAssets, SHARED_K8S_DIR } from '../envtest/assets.ts';
import { startControlPlane } from '../envtest/control-plane.ts';
import { kubeConfigFor } from '../sandbox/identity/client.ts';
import { startSandbox } from '../sandbox/index.ts';
import { DemoFailure } from './narrator.ts';

export interface DemoControlPlane {
  /** What a person is told it runs on. */
  description: string;
  kubeconfigPath: string;
  /** The administrator's client. */
  admin(): KubeConfig;
  /** The kubelet credentials of `node`. */
  nodeKubeConfig(node: string): Promise<KubeConfig>;
  stop(): Promise<void>;
}

const fromFile = (file: string) => {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
};

export async function startDemoControlPlane(dir: string, real: boolean): Promise<DemoControlPlane> {
  if (!real) {
    const sandbox = await startSandbox({ dir });
    return {
      description: `the embedded sandbox control plane at ${sandbox.url}`,
      kubeconfigPath: sandbox.kubeconfigPath,
      admin: () => fromFile(sandbox.kubeconfigPath),
      nodeKubeConfig: async (node) =>
        kubeConfigFor({
          url: sandbox.url,
          caPem: sandbox.caPem,
          token: sandbox.nodeToken(node),
          user: `system:node:${node}`,
        }),
      stop: () => sandbox.stop(),
    };
  }
  const assets = await resolveAssets();
  if (!assets) {
    throw new DemoFailure(
      `--real needs Kubernetes binaries: set KUBEBUILDER_ASSETS (setup-envtest) or provide ${SHARED_K8S_DIR}`,
    );
  }
  const plane = await startControlPlane({ assets, controllerManager: true, scheduler: true });
  return {
    description: `a real kube-apiserver at ${plane.url} (binaries from ${assets})`,
    kubeconfigPath: plane.adminKubeconfigPath,
    admin: () => fromFile(plane.adminKubeconfigPath),
    nodeKubeConfig: async (node) => fromFile(await plane.nodeKubeconfig(node)),
    stop: () => plane.stop(),
  };
}
