import type { IncomingMessage } from 'node:http';
import type { DeadLetterRequest, TailRequest, TraceRequest } from '../protocol/gen/evented/evented.js';
import { TRACE_TARGET_HINT, traceTargetOf } from '../protocol/trace-target.js';
import { timestampFromDate } from '../protocol/timestamp.js';
import { uuidToBytes } from '../protocol/uuid.js';
import type { ApiError, DeadLetterAction, ReplayAction } from './api.js';

/**
 * What the console's API reads from a request — query parameters, path segments, JSON bodies — checked and turned
 * into the Admin API's requests. Anything wrong is an HttpError 400 that says what and, where it helps, how.
 */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(body.error);
  }
}

export const badRequest = (error: string, hint?: string): HttpError =>
  new HttpError(400, { error, ...(hint !== undefined && { hint }) });

const MAX_BODY_BYTES = 64 * 1024;

export const readJson = async (request: IncomingMessage): Promise<unknown> => {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw badRequest(`the request body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text === '' ? '{}' : text);
  } catch {
    throw badRequest('the request body is not JSON', 'send a JSON object (content-type: application/json)');
  }
};

export const rootBytes = (root: string): Uint8Array => {
  const bytes = uuidToBytes(root);
  if (!bytes)
    throw badRequest(`root ${JSON.stringify(root)} is not a UUID`, 'give it as 8-4-4-4-12 hex digits');
  return bytes;
};

const timeParam = (name: string, text: string | null) => {
  if (text === null || text === '') return undefined;
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw badRequest(
      `${name} ${JSON.stringify(text)} is not a time`,
      'give an ISO 8601 time, e.g. 2026-12-03T15:00:00Z',
    );
  }
  return timestampFromDate(date);
};

export const integerParam = (
  name: string,
  text: string | null,
  min: number,
  max: number,
): number | undefined => {
  if (text === null || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${name} ${JSON.stringify(text)} must be a whole number from ${min} to ${max}`);
  }
  return value;
};

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** An EventFilter (api.ts) as a TailRequest; `bounded` keeps before and until (not for a followed stream). */
export const tailFilter = (query: URLSearchParams, bounded: boolean): Partial<TailRequest> => {
  const domain = query.get('domain') ?? '';
  const root = query.get('root') ?? '';
  if (root !== '' && domain === '') {
    throw badRequest('root names an aggregate only together with its domain', 'give domain too');
  }
  return {
    domain,
    ...(root !== '' && { root: { value: rootBytes(root) } }),
    type: query.get('type') ?? '',
    correlation: query.get('correlation') ?? '',
    since: timeParam('since', query.get('since')),
    ...(bounded && {
      until: timeParam('until', query.get('until')),
      before: integerParam('before', query.get('before'), 1, Number.MAX_SAFE_INTEGER) ?? 0,
    }),
  };
};

/** A correlation id, or an event whose correlation is traced ("account/3f2b…/4"), as `evented trace` takes it. */
export const traceRequestOf = (text: string): TraceRequest => {
  const target = traceTargetOf(text);
  if ('problem' in target) throw badRequest(target.problem, TRACE_TARGET_HINT);
  return target.request;
};

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const deadLetterRequestOf = (body: unknown): DeadLetterRequest => {
  if (!isObject(body)) throw badRequest('expected a JSON object: { ids } or { subscriber, aggregate? }');
  const action = body as DeadLetterAction;
  const ids = action.ids ?? [];
  if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id) && id > 0)) {
    throw badRequest('ids must be a list of dead-letter ids (whole numbers above 0)');
  }
  const subscriber = action.subscriber ?? '';
  if (typeof subscriber !== 'string') throw badRequest('subscriber must be a name');
  if (ids.length === 0 && subscriber === '') {
    throw badRequest('say which letters: ids, or a subscriber (and an aggregate)', 'e.g. { "ids": [3] }');
  }
  const target = action.aggregate;
  if (target !== undefined && (!isObject(target) || typeof target.domain !== 'string')) {
    throw badRequest('aggregate must be { domain, root }');
  }
  return {
    ids,
    subscriber,
    aggregate: target && { domain: target.domain, root: { value: rootBytes(String(target.root)) } },
  };
};

export const replayActionOf = (body: unknown): ReplayAction => {
  if (!isObject(body))
    throw badRequest('expected a JSON object: { subscriber, kind, rebuild?, after?, domain? }');
  const { subscriber, kind, rebuild, after, domain } = body;
  if (typeof subscriber !== 'string' || subscriber === '') throw badRequest('subscriber: give its name');
  if (kind !== 'projector' && kind !== 'saga') throw badRequest('kind must be "projector" or "saga"');
  if (rebuild !== undefined && typeof rebuild !== 'boolean')
    throw badRequest('rebuild must be true or false');
  if (after !== undefined && !(Number.isSafeInteger(after) && (after as number) >= 0)) {
    throw badRequest('after must be a position (a whole number, 0 for the beginning)');
  }
  if (domain !== undefined && typeof domain !== 'string') throw badRequest('domain must be a name');
  return {
    subscriber,
    kind,
    ...(rebuild !== undefined && { rebuild }),
    ...(after !== undefined && { after: after as number }),
    ...(domain !== undefined && { domain }),
  };
};

export const idOf = (text: string): number => {
  const id = Number(text);
  if (!Number.isSafeInteger(id) || id <= 0) throw badRequest(`${text} is not a dead-letter id`);
  return id;
};
