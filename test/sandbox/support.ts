// Helpers for the sandbox conformance tests: raw HTTPS requests with the cluster's own
// credentials (for bodies client libraries refuse to send), unique names, polling.
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { clusterCaPem } from '../support/cluster.ts';

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON of many shapes, inspected by tests
type JsonObject = Record<string, any>;

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes are inspected in tests
  json: any;
}

export async function rawRequest(
  kc: KubeConfig,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  /** Send none of the kubeconfig's credentials (no client certificate, no token). */
  withoutCredentials = false,
): Promise<RawResponse> {
  const server = new URL(kc.getCurrentCluster()?.server ?? '');
  const opts: https.RequestOptions = {
    method,
    hostname: server.hostname,
    port: server.port,
    path,
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
    },
  };
  if (withoutCredentials) {
    const ca = await clusterCaPem(kc);
    if (ca) opts.ca = ca;
  } else {
    await kc.applyToHTTPSOptions(opts);
  }
  // The caller's headers win, credentials included (to test a bad token).
  const merged = opts.headers as Record<string, string>;
  for (const [key, value] of Object.entries(headers)) {
    for (const existing of Object.keys(merged)) {
      if (existing.toLowerCase() === key.toLowerCase()) delete merged[existing];
    }
    merged[key] = value;
  }
  return new Promise((resolve, reject) => {
    const req = https.request(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const uniqueName = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Reads a watch stream (raw HTTPS) until `until` says stop or the server closes it.
 * `onOpen` runs once the server has answered (its watch is registered by then).
 */
export async function readWatch(
  kc: KubeConfig,
  path: string,
  until: (events: { type: string; object: JsonObject }[]) => boolean,
  timeoutMs = 10_000,
  onOpen?: () => Promise<unknown>,
): Promise<{ type: string; object: JsonObject }[]> {
  const server = new URL(kc.getCurrentCluster()?.server ?? '');
  const opts: https.RequestOptions = {
    method: 'GET',
    hostname: server.hostname,
    port: server.port,
    path,
    headers: { accept: 'application/json' },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const events: { type: string; object: JsonObject }[] = [];
    let buffered = '';
    const req = https.request(opts, (res) => {
      onOpen?.().catch(reject);
      res.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let nl = buffered.indexOf('\n');
        while (nl >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) events.push(JSON.parse(line));
          nl = buffered.indexOf('\n');
        }
        if (until(events)) {
          clearTimeout(timer);
          req.destroy();
          resolve(events);
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(events);
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve(events);
    }, timeoutMs);
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
    req.end();
  });
}
