// The writes controllers make, each idempotent: repeating one after a crash or a lost
// reply does no harm (a 404 on delete means "already done").
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import {
  isConflict,
  isNotFound,
  KubeApiError,
  type KubeClient,
  resourcePath,
} from '../kube/rest.ts';
import type { PodLite } from '../kube/trim.ts';
import type { PodAction } from './settings.ts';

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
  uid?: string;
}

const MAX_CONFLICT_RETRIES = 8;
const EVENT_CONCURRENCY = 4;
const MAX_PENDING_EVENTS = 20_000;

export class Actions {
  readonly client: KubeClient;
  readonly #logger: Logger | undefined;
  readonly #instance: string;
  readonly #events: { send: () => Promise<void>; done: () => void }[] = [];
  #eventsInFlight = 0;

  constructor(client: KubeClient, logger?: Logger, instance = 'trustgate') {
    this.client = client;
    this.#logger = logger;
    this.#instance = instance;
  }

  /**
   * Records a core/v1 Event; never throws (an Event is a report, not the action itself).
   * Events go through a narrow lane of their own so that, in a mass revocation, the
   * deletions that kill tokens are not queued behind the reports about them.
   */
  event(
    on: InvolvedObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    return new Promise((resolve) => {
      if (this.#events.length >= MAX_PENDING_EVENTS) {
        this.#logger?.warn({ reason }, 'event backlog full; dropping an event');
        resolve();
        return;
      }
      this.#events.push({ send: () => this.#sendEvent(on, type, reason, message), done: resolve });
      this.#pumpEvents();
    });
  }

  #pumpEvents(): void {
    while (this.#eventsInFlight < EVENT_CONCURRENCY && this.#events.length) {
      const next = this.#events.shift();
      if (!next) return;
      this.#eventsInFlight++;
      void next.send().finally(() => {
        this.#eventsInFlight--;
        next.done();
        this.#pumpEvents();
      });
    }
  }

  #sendEvent(
    on: InvolvedObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    const namespace = on.namespace || 'default';
    return this.client
      .create(resourcePath({ version: 'v1', plural: 'events', namespace }), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {
          name: `${on.name}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`,
          namespace,
        },
        involvedObject: on,
        reason,
        message: message.slice(0, 1024),
        type,
        source: { component: 'trustgate' },
        reportingComponent: 'trustgate.dev/operator',
        reportingInstance: this.#instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      })
      .then(
        () => undefined,
        (err) => {
          this.#logger?.warn({ err: (err as Error).message, reason }, 'could not record event');
        },
      );
  }

  /**
   * Writes status through the status subresource with optimistic concurrency: `desired`
   * maps the current object to its new status (undefined = nothing to change); a 409
   * re-reads the object and tries again.
   */
  async updateStatus<T extends { metadata?: { resourceVersion?: string } }>(
    objectPath: string,
    cached: T | undefined,
    desired: (current: T) => Record<string, unknown> | undefined,
  ): Promise<boolean> {
    let current = cached ?? (await this.client.get<T>(objectPath));
    for (let attempt = 0; ; attempt++) {
      const status = desired(current);
      if (!status) return false;
      try {
        await this.client.replace(`${objectPath}/status`, { ...current, status });
        return true;
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
        current = await this.client.get<T>(objectPath);
      }
    }
  }

  /**
   * Patches a node's metadata/spec with a resourceVersion precondition so a taint list is
   * never overwritten with a stale copy; `build` sees the freshest node on each attempt.
   */
  async patchNode(
    name: string,
    cached: { metadata: { resourceVersion?: string } } | undefined,
    build: (node: NodeForPatch) => Record<string, unknown> | undefined,
  ): Promise<boolean> {
    const path = resourcePath({ version: 'v1', plural: 'nodes', name });
    let node = (cached as NodeForPatch | undefined) ?? (await this.client.get<NodeForPatch>(path));
    for (let attempt = 0; ; attempt++) {
      const patch = build(node);
      if (!patch) return false;
      const metadata = {
        ...(patch.metadata as object),
        resourceVersion: node.metadata.resourceVersion,
      };
      try {
        await this.client.patch(path, { ...patch, metadata }, 'merge');
        return true;
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
        node = await this.client.get<NodeForPatch>(path);
      }
    }
  }

  /** Removes a pod as the policy says; false when it was already gone or the action is None. */
  async removePod(pod: PodLite, action: PodAction): Promise<boolean> {
    const { name, namespace, uid } = pod.metadata;
    const path = resourcePath({ version: 'v1', plural: 'pods', namespace, name });
    // The uid precondition: never remove a new pod that reuses the name.
    const preconditions = uid ? { uid } : undefined;
    try {
      switch (action) {
        case 'None':
          return false;
        case 'ForceDelete':
          await this.client.delete(path, {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            gracePeriodSeconds: 0,
            preconditions,
          });
          return true;
        case 'Delete':
          await this.client.delete(path, {
            apiVersion: 'v1',
            kind: 'DeleteOptions',
            preconditions,
          });
          return true;
        case 'Evict':
          await this.client.create(`${path}/eviction`, {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name, namespace },
            deleteOptions: { preconditions },
          });
          return true;
      }
    } catch (err) {
      // Gone, or replaced by a pod with another uid (409): nothing of ours left to remove.
      if (isNotFound(err) || isConflict(err)) return false;
      throw err;
    }
  }

  async deleteSecret(namespace: string, name: string): Promise<boolean> {
    try {
      await this.client.delete(resourcePath({ version: 'v1', plural: 'secrets', namespace, name }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Deletes and recreates a service account: the new one has a new UID, so every token
   * issued for the old one fails authentication. Labels, annotations, image pull secrets
   * and automount carry over. A missing account (a crash between the two steps) is created.
   */
  async rotateServiceAccount(namespace: string, name: string): Promise<void> {
    const path = resourcePath({ version: 'v1', plural: 'serviceaccounts', namespace, name });
    let old: ServiceAccount | undefined;
    try {
      old = await this.client.get<ServiceAccount>(path);
      await this.client.delete(path, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        preconditions: { uid: old.metadata.uid },
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    const body: ServiceAccount = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: {
        name,
        namespace,
        labels: old?.metadata.labels,
        annotations: old?.metadata.annotations,
      },
      imagePullSecrets: old?.imagePullSecrets,
      automountServiceAccountToken: old?.automountServiceAccountToken,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.create(
          resourcePath({ version: 'v1', plural: 'serviceaccounts', namespace }),
          body,
        );
        return;
      } catch (err) {
        // The old one may still be finishing its deletion.
        const exists = err instanceof KubeApiError && err.statusCode === 409;
        if (!exists || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

export interface NodeForPatch {
  metadata: {
    name: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { taints?: Taint[] };
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

interface ServiceAccount {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: {
    name: string;
    namespace: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  imagePullSecrets?: unknown[];
  automountServiceAccountToken?: boolean;
}
