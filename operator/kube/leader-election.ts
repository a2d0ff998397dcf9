// Leader election over a coordination.k8s.io/v1 Lease, as client-go does it: the holder
// renews renewTime every retryPeriod; others take over once they have seen the same
// record unchanged for leaseDuration (measured on their own clock, so clock skew between
// replicas does not matter); every write carries the resourceVersion it read, so two
// candidates can never both win. A leader that cannot renew within renewDeadline steps
// down before its lease can expire for others.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { sleep } from './backoff.ts';
import { kubeMetrics } from './metrics.ts';
import { isConflict, isNotFound, type KubeClient, resourcePath } from './rest.ts';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  /** Lease name. */
  name?: string;
  /** This replica's identity (pod name + a random suffix). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Called on winning; signal aborts when leadership is lost or the elector stops. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading?: () => void | Promise<void>;
  registry?: Registry;
  logger?: Logger;
}

/** Lease times are MicroTime: RFC 3339 with microseconds. */
export const microTime = (ms: number) => new Date(ms).toISOString().replace(/Z$/, '000Z');

export class LeaderElector {
  #opts: LeaderElectionOptions;
  #path: string;
  #observed: { spec: LeaseSpec; resourceVersion?: string; seenAt: number } | undefined;
  #leading: AbortController | undefined;
  #stop = new AbortController();
  #running: Promise<void> | undefined;
  #metrics;

  constructor(opts: LeaderElectionOptions) {
    this.#opts = opts;
    this.#path = resourcePath({
      group: 'coordination.k8s.io',
      version: 'v1',
      plural: 'leases',
      namespace: opts.namespace,
    });
    this.#metrics = opts.registry ? kubeMetrics(opts.registry) : undefined;
    this.#metrics?.leader.set(0);
  }

  get identity(): string {
    return this.#opts.identity;
  }

  isLeader(): boolean {
    return this.#leading !== undefined;
  }

  get #leaseMs() {
    return this.#opts.leaseDurationMs ?? 15_000;
  }
  get #renewDeadlineMs() {
    return this.#opts.renewDeadlineMs ?? 10_000;
  }
  get #retryMs() {
    return this.#opts.retryPeriodMs ?? 2_000;
  }
  get #name() {
    return this.#opts.name ?? 'trustgate-leader';
  }

  /** Campaigns until stop() or release(); resolves then. */
  run(): Promise<void> {
    this.#running ??= this.#loop();
    return this.#running;
  }

  /** Stops campaigning without touching the lease (others take over after it expires). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    await this.#stepDown('stopped');
  }

  /** Graceful shutdown: stop, and if leading clear the holder so a peer takes over at once. */
  async release(): Promise<void> {
    const wasLeader = this.isLeader();
    this.#stop.abort();
    await this.#running;
    // Controllers stop before the lease is cleared: never two writers at once.
    await this.#stepDown('released');
    const observed = this.#observed;
    if (!wasLeader || observed?.spec.holderIdentity !== this.identity) return;
    try {
      await this.#write({
        holderIdentity: null,
        leaseDurationSeconds: 1,
        acquireTime: null,
        renewTime: microTime(Date.now()),
        leaseTransitions: observed.spec.leaseTransitions ?? 0,
      });
      this.#opts.logger?.info({ lease: this.#name }, 'released leader lease');
    } catch (err) {
      this.#opts.logger?.warn({ err: (err as Error).message }, 'could not release lease');
    }
  }

  async #loop(): Promise<void> {
    const stop = this.#stop.signal;
    let lastRenew = 0;
    while (!stop.aborted) {
      let ok = false;
      try {
        ok = await this.#tryAcquireOrRenew();
      } catch (err) {
        this.#opts.logger?.warn({ err: (err as Error).message }, 'lease update failed');
      }
      if (stop.aborted) break;
      const now = Date.now();
      if (ok) {
        lastRenew = now;
        if (!this.#leading) await this.#startLeading();
      } else if (this.#leading && now - lastRenew > this.#renewDeadlineMs) {
        await this.#stepDown('renew deadline passed');
      }
      const jitter = this.#leading ? 1 : 1 + Math.random() * 0.2;
      await sleep(this.#retryMs * jitter, stop);
    }
  }

  async #startLeading(): Promise<void> {
    const ctl = new AbortController();
    this.#leading = ctl;
    this.#metrics?.leader.set(1);
    this.#opts.logger?.info({ identity: this.identity, lease: this.#name }, 'became leader');
    try {
      await this.#opts.onStartedLeading(ctl.signal);
    } catch (err) {
      this.#opts.logger?.error({ err }, 'onStartedLeading failed');
    }
  }

  async #stepDown(why: string): Promise<void> {
    const ctl = this.#leading;
    if (!ctl) return;
    this.#leading = undefined;
    this.#metrics?.leader.set(0);
    ctl.abort(new Error(`leadership lost: ${why}`));
    this.#opts.logger?.warn({ identity: this.identity, why }, 'stopped leading');
    try {
      await this.#opts.onStoppedLeading?.();
    } catch (err) {
      this.#opts.logger?.error({ err }, 'onStoppedLeading failed');
    }
  }

  /** One round: true when we hold the lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const now = Date.now();
    let current: Lease;
    try {
      current = await this.#opts.client.get<Lease>(`${this.#path}/${this.#name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      return this.#create(now);
    }
    const spec = current.spec ?? {};
    const prev = this.#observed;
    if (
      !prev ||
      prev.spec.holderIdentity !== spec.holderIdentity ||
      prev.spec.renewTime !== spec.renewTime
    ) {
      this.#observed = { spec, resourceVersion: current.metadata.resourceVersion, seenAt: now };
    } else {
      this.#observed = { ...prev, resourceVersion: current.metadata.resourceVersion };
    }
    const observed = this.#observed;
    const heldByOther = !!spec.holderIdentity && spec.holderIdentity !== this.identity;
    const duration = (spec.leaseDurationSeconds ?? this.#leaseMs / 1000) * 1000;
    if (heldByOther && observed.seenAt + duration > now) return false;
    const renewing = spec.holderIdentity === this.identity;
    try {
      await this.#write({
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
        acquireTime: renewing && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1),
      });
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
    return true;
  }

  async #create(now: number): Promise<boolean> {
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      const created = await this.#opts.client.create<Lease>(this.#path, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#name, namespace: this.#opts.namespace },
        spec,
      });
      this.#observed = { spec, resourceVersion: created.metadata.resourceVersion, seenAt: now };
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Replaces the lease spec, guarded by the resourceVersion we last read. */
  async #write(spec: LeaseSpec): Promise<void> {
    const written = await this.#opts.client.replace<Lease>(`${this.#path}/${this.#name}`, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.#name,
        namespace: this.#opts.namespace,
        resourceVersion: this.#observed?.resourceVersion,
      },
      spec,
    });
    this.#observed = {
      spec: written.spec ?? spec,
      resourceVersion: written.metadata.resourceVersion,
      seenAt: Date.now(),
    };
  }
}
