// A real Kubernetes control plane on loopback, from the binaries in an envtest assets
// folder: etcd and kube-apiserver always, kube-controller-manager and kube-scheduler when
// asked for. Its own PKI (a CA for serving and client certificates, a service-account
// key pair), Node,RBAC authorization and NodeRestriction, so a client certificate of
// system:node:NAME is treated exactly as that node's kubelet. stop() ends every process
// and removes the folder; a run that died leaves a pid file the next start cleans up.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServingCertificate,
  type KeyPairPem,
} from '../../webhook/tls/certificates.ts';
import { freePort } from '../free-port.ts';
import { renderClientKubeconfig } from './kubeconfig.ts';

export interface ControlPlaneOptions {
  /** Folder with etcd, kube-apiserver and optionally the controller manager and scheduler. */
  assets: string;
  /** Start kube-controller-manager (namespace deletion, service-account tokens, GC). */
  controllerManager?: boolean;
  /** Start kube-scheduler (binds pods through pods/binding). */
  scheduler?: boolean;
  /**
   * The service-account issuer. Deliberately not kube's default, as on managed clusters
   * with an OIDC issuer URL: nothing may assume https://kubernetes.default.svc.
   */
  issuer?: string;
  /** Extra kube-apiserver flags (`--flag=value`). */
  apiServerFlags?: string[];
  /** Where a process's output goes when it exits unexpectedly (default: stderr). */
  log?: (line: string) => void;
}

export interface User {
  name: string;
  groups?: string[];
}

export interface ControlPlane {
  url: string;
  caPem: string;
  issuer: string;
  /** kubeconfig of a system:masters administrator. */
  adminKubeconfigPath: string;
  /** Writes a kubeconfig with a client certificate for `user`; returns its path. */
  kubeconfigFor(user: User): Promise<string>;
  /** The kubelet identity system:node:NAME (group system:nodes). */
  nodeKubeconfig(node: string): Promise<string>;
  /** SIGKILLs kube-apiserver and starts it again on the same port and data (fault tests). */
  restartApiServer(): Promise<void>;
  /** Stops etcd (SIGTERM), keeping its data and ports; kube-apiserver stays up (fault tests). */
  stopEtcd(): Promise<void>;
  /** Starts etcd again on the same data and ports, and waits for kube-apiserver to be ready. */
  startEtcd(): Promise<void>;
  stop(): Promise<void>;
}

const CERT_LIFETIME_MS = 24 * 3600_000;
const READY_TIMEOUT_MS = 60_000;
/** Pid files of control planes still running, so a crashed run's processes can be ended. */
const PID_DIR = path.join(os.tmpdir(), 'trustgate-envtest-pids');

/** Ends the processes of control planes whose test process is gone (kill -9, crash). */
async function reapOrphans(): Promise<void> {
  await mkdir(PID_DIR, { recursive: true });
  for (const file of await readdir(PID_DIR)) {
    const owner = Number(file.split('.')[0]);
    if (alive(owner)) continue;
    const pids = (await readFile(path.join(PID_DIR, file), 'utf8').catch(() => ''))
      .split('\n')
      .map(Number)
      .filter((p) => p > 0);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(path.join(PID_DIR, file), { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Component {
  name: string;
  args: string[];
  child: ChildProcess;
  /** Last lines of output, shown when it dies unexpectedly. */
  tail: string[];
  exited: Promise<number | null>;
  /** Killed on purpose to be started again (not a failure to report). */
  restarting?: boolean;
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  await reapOrphans();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trustgate-envtest-'));
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const bin = (name: string) => path.join(opts.assets, name);
  const pidFile = path.join(PID_DIR, `${process.pid}.${path.basename(dir)}`);
  const components: Component[] = [];
  let stopping = false;
  /**
   * While kube-apiserver or etcd is down on purpose, a controller that exits (kcm is fatal
   * on a reset connection while it starts) is restarted afterwards, as the kubelet
   * restarts a static pod; its exit is not a failure.
   */
  let storageOrApiDown = false;

  const start = (name: string, args: string[]): Component => {
    const child = spawn(bin(name), args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const keep = (d: Buffer) => {
      tail.push(...d.toString().split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 40));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const component: Component = { name, args, child, tail, exited };
    void exited.then((code) => {
      if (!stopping && !component.restarting && !storageOrApiDown) {
        log(`${name} exited (${code}):\n  ${tail.slice(-15).join('\n  ')}`);
      }
    });
    components.push(component);
    void writePids();
    return component;
  };
  const writePids = () =>
    writeFile(pidFile, components.map((c) => c.child.pid ?? 0).join('\n')).catch(() => undefined);

  // Whatever a test forgot to stop dies with the process that started it.
  const killOnExit = () => {
    for (const c of components) c.child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const stopAll = async () => {
    stopping = true;
    process.off('exit', killOnExit);
    await Promise.all(
      [...components].reverse().map(async (c) => {
        if (c.child.exitCode !== null || c.child.signalCode !== null) return;
        c.child.kill('SIGTERM');
        const timer = setTimeout(() => c.child.kill('SIGKILL'), 5_000);
        await c.exited;
        clearTimeout(timer);
      }),
    );
    await rm(pidFile, { force: true });
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const now = Date.now();
    const ca = await createCertificateAuthority('trustgate-envtest-ca', now, CERT_LIFETIME_MS);
    const serving = await issueServingCertificate(
      ca,
      ['localhost', '127.0.0.1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      now,
      CERT_LIFETIME_MS,
    );
    const sa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const file = (name: string) => path.join(dir, name);
    await writeFile(file('ca.crt'), ca.certPem);
    await writeFile(file('ca.key'), ca.keyPem, { mode: 0o600 });
    await writeFile(file('serving.crt'), serving.certPem);
    await writeFile(file('serving.key'), serving.keyPem, { mode: 0o600 });
    await writeFile(file('sa.pub'), sa.publicKey);
    await writeFile(file('sa.key'), sa.privateKey, { mode: 0o600 });

    const [etcdClient, etcdPeer, apiPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const url = `https://127.0.0.1:${apiPort}`;
    const issuer = opts.issuer ?? `https://issuer.envtest.trustgate.test/${path.basename(dir)}`;

    const kubeconfigFor = async (user: User) => {
      const cert = await issueClientCertificate(ca, user, Date.now(), CERT_LIFETIME_MS);
      const target = file(`kubeconfig-${user.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.yaml`);
      await writeFile(target, renderClientKubeconfig(url, ca.certPem, user.name, cert), {
        mode: 0o600,
      });
      return target;
    };

    const etcdArgs = [
      `--name=envtest`,
      `--data-dir=${file('etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=envtest=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync=true',
      '--log-level=error',
    ];
    let etcd = start('etcd', etcdArgs);

    const apiServerArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--tls-cert-file=${file('serving.crt')}`,
      `--tls-private-key-file=${file('serving.key')}`,
      `--client-ca-file=${file('ca.crt')}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,NodeRestriction,DefaultTolerationSeconds,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ResourceQuota',
      `--service-account-issuer=${issuer}`,
      `--service-account-key-file=${file('sa.pub')}`,
      `--service-account-signing-key-file=${file('sa.key')}`,
      `--api-audiences=${issuer}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      ...(opts.apiServerFlags ?? []),
    ];
    let apiServer = start('kube-apiserver', apiServerArgs);

    const adminKubeconfigPath = await kubeconfigFor({ name: 'admin', groups: ['system:masters'] });
    await waitReady(url, ca.certPem, await readAdminCert(adminKubeconfigPath), () =>
      components.find((c) => c.child.exitCode !== null),
    );

    const controlKubeconfig = async (user: string) => kubeconfigFor({ name: user });
    const componentTls = [
      '--authentication-skip-lookup=true',
      '--bind-address=127.0.0.1',
      `--tls-cert-file=${file('serving.crt')}`,
      `--tls-private-key-file=${file('serving.key')}`,
      `--client-ca-file=${file('ca.crt')}`,
      '--leader-elect=false',
    ];
    if (opts.controllerManager) {
      const kc = await controlKubeconfig('system:kube-controller-manager');
      start('kube-controller-manager', [
        `--kubeconfig=${kc}`,
        `--authentication-kubeconfig=${kc}`,
        `--authorization-kubeconfig=${kc}`,
        `--secure-port=${await freePort()}`,
        ...componentTls,
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${file('sa.key')}`,
        `--root-ca-file=${file('ca.crt')}`,
        `--cluster-signing-cert-file=${file('ca.crt')}`,
        `--cluster-signing-key-file=${file('ca.key')}`,
        // No kubelets here: without this, nodes go NotReady and get NoExecute taints.
        '--controllers=*,-nodelifecycle',
      ]);
    }
    if (opts.scheduler) {
      const kc = await controlKubeconfig('system:kube-scheduler');
      start('kube-scheduler', [
        `--kubeconfig=${kc}`,
        `--authentication-kubeconfig=${kc}`,
        `--authorization-kubeconfig=${kc}`,
        `--secure-port=${await freePort()}`,
        ...componentTls,
      ]);
    }

    /** Ends a component on purpose, to be started again (not reported as a failure). */
    const retire = async (c: Component, signal: NodeJS.Signals) => {
      c.restarting = true;
      c.child.kill(signal);
      await c.exited;
      const i = components.indexOf(c);
      if (i >= 0) components.splice(i, 1);
    };
    const ready = async () =>
      waitReady(url, ca.certPem, await readAdminCert(adminKubeconfigPath), () =>
        components.find((c) => c.child.exitCode !== null && (c === apiServer || c === etcd)),
      );
    /** Runs a deliberate outage, then restarts the controllers that died during it. */
    const outage = async (during: () => Promise<void>) => {
      storageOrApiDown = true;
      try {
        await during();
      } finally {
        storageOrApiDown = false;
      }
      for (const c of [...components]) {
        if (c.child.exitCode === null && c.child.signalCode === null) continue;
        components.splice(components.indexOf(c), 1);
        start(c.name, c.args);
      }
    };

    return {
      url,
      caPem: ca.certPem,
      issuer,
      adminKubeconfigPath,
      kubeconfigFor,
      nodeKubeconfig: (node) =>
        kubeconfigFor({ name: `system:node:${node}`, groups: ['system:nodes'] }),
      restartApiServer: () =>
        outage(async () => {
          await retire(apiServer, 'SIGKILL');
          apiServer = start('kube-apiserver', apiServerArgs);
          await ready();
        }),
      async stopEtcd() {
        storageOrApiDown = true;
        await retire(etcd, 'SIGTERM');
      },
      startEtcd: () =>
        outage(async () => {
          if (components.includes(etcd)) return;
          etcd = start('etcd', etcdArgs);
          await ready();
        }),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function readAdminCert(kubeconfigPath: string): Promise<KeyPairPem> {
  const text = await readFile(kubeconfigPath, 'utf8');
  const field = (name: string) => {
    const m = text.match(new RegExp(`${name}: (\\S+)`));
    if (!m?.[1]) throw new Error(`kubeconfig without ${name}`);
    return Buffer.from(m[1], 'base64').toString();
  };
  return { certPem: field('client-certificate-data'), keyPem: field('client-key-data') };
}

/** Polls /readyz with the admin certificate until it answers 200. */
async function waitReady(
  url: string,
  caPem: string,
  admin: KeyPairPem,
  died: () => Component | undefined,
): Promise<void> {
  const https = await import('node:https');
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    const dead = died();
    if (dead) throw new Error(`${dead.name} exited: ${dead.tail.slice(-10).join('\n')}`);
    const status = await new Promise<number>((resolve) => {
      const req = https.get(
        `${url}/readyz`,
        { ca: caPem, cert: admin.certPem, key: admin.keyPem, timeout: 2_000 },
        (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => {
            last = body.slice(0, 500);
            resolve(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', (e) => {
        last = e.message;
        resolve(0);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
    });
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver at ${url} not ready after ${READY_TIMEOUT_MS} ms: ${last}`);
}
