// HTTP plumbing: bounded body reading, decoding by content type, and replies
// (JSON objects, pre-serialized JSON, Status errors, Warning headers).
import type { IncomingMessage, ServerResponse } from 'node:http';
import yaml from 'js-yaml';
import { errors, StatusError } from './errors.ts';
import { decodeKubeProtobuf } from './protobuf.ts';

/** kube-apiserver's request body limit (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    throw errors.tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      throw errors.tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function mediaType(req: IncomingMessage): string {
  return (
    (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? ''
  );
}

/** Decodes a JSON or YAML body; malformed input is a 400 like kube's decoder errors. */
export function decodeBody(body: Buffer, type: string): unknown {
  if (type === 'application/vnd.kubernetes.protobuf') return decodeKubeProtobuf(body);
  const text = body.toString('utf8');
  if (text.trim() === '') throw errors.badRequest('the body of the request was empty');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    try {
      return yaml.load(text);
    } catch (err) {
      throw errors.badRequest(`error decoding YAML: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(
      `the body of the request was in an unknown format - couldn't get version/kind; json parse error: ${(err as Error).message}`,
    );
  }
}

export function setWarnings(res: ServerResponse, warnings: string[]): void {
  if (warnings.length === 0 || res.headersSent) return;
  res.setHeader(
    'Warning',
    warnings.map((w) => `299 - "${w.replace(/["\\]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ')}"`),
  );
}

export function sendRaw(
  res: ServerResponse,
  code: number,
  json: string | Buffer,
  type = 'application/json',
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, { 'content-type': type, 'cache-control': 'no-cache, private' });
  res.end(json);
}

export function sendJSON(res: ServerResponse, code: number, body: unknown, type?: string): void {
  sendRaw(res, code, JSON.stringify(body), type);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const status =
    err instanceof StatusError
      ? err
      : errors.internal(err instanceof Error ? err.message : String(err));
  sendJSON(res, status.code, status.toStatus());
}
