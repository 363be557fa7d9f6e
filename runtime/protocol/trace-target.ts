import type { TraceRequest } from './gen/evented/evented.js';
import { uuidToBytes } from './uuid.js';

/**
 * What `evented trace` and the console's Trace page take: a correlation id, or an event whose correlation is
 * traced, as DOMAIN/ROOT/SEQUENCE ("account/3f2b…/4"). Each caller turns a problem into its own error (a usage
 * error; an HTTP 400), with TRACE_TARGET_HINT.
 */

export const TRACE_TARGET_HINT =
  'give a correlation id (as `evented send --correlation-id` took it) or an event as DOMAIN/UUID/SEQUENCE';

export type TraceTarget = { request: TraceRequest } | { problem: string };

export const traceTargetOf = (text: string): TraceTarget => {
  const request: TraceRequest = { correlationId: '', aggregate: undefined, sequence: 0, limit: 0 };
  const event = /^([^/\s]+)\/([^/\s]+)\/(\d+)$/.exec(text);
  if (event) {
    const root = uuidToBytes(event[2]!);
    const sequence = Number(event[3]);
    if (!root || !Number.isSafeInteger(sequence) || sequence > 0xffffffff) {
      return { problem: `${text}: not an event: expected DOMAIN/UUID/SEQUENCE` };
    }
    return { request: { ...request, aggregate: { domain: event[1]!, root: { value: root } }, sequence } };
  }
  if (text === '' || /[\s\u0000-\u001f]/.test(text)) {
    return { problem: `${JSON.stringify(text)}: not a correlation id nor an event` };
  }
  return { request: { ...request, correlationId: text } };
};
