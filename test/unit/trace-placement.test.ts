import { propagation, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeAmong } from '../../runtime/tracing/spans.js';

/**
 * Where a span about stored events goes (the relay's publish, a coordinator's delivery): in the trace of the
 * command that stored them when they come from one, else a root span linked to each of their traces.
 */

const traceparent = (traceId: string, spanId: string): string => `00-${traceId}-${spanId}-01`;
const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

beforeAll(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
afterAll(() => propagation.disable());

const parentOf = (placed: ReturnType<typeof placeAmong>) => trace.getSpanContext(placed.parent);
const linked = (placed: ReturnType<typeof placeAmong>) =>
  placed.links.map((link) => `${link.context.traceId}/${link.context.spanId}`);

describe('placeAmong', () => {
  it('events of one command: a child of the span that stored them, no link', () => {
    const placed = placeAmong([traceparent(A, '1'.repeat(16)), traceparent(A, '1'.repeat(16))]);
    expect(parentOf(placed)).toMatchObject({ traceId: A, spanId: '1'.repeat(16) });
    expect(placed.links).toEqual([]);
  });

  it('events of one trace stored by several spans: a child of the first, linked to the others', () => {
    const placed = placeAmong([traceparent(A, '1'.repeat(16)), traceparent(A, '2'.repeat(16))]);
    expect(parentOf(placed)).toMatchObject({ traceId: A, spanId: '1'.repeat(16) });
    expect(linked(placed)).toEqual([`${A}/${'2'.repeat(16)}`]);
  });

  it('events of several traces: a root span linked to each', () => {
    const placed = placeAmong([traceparent(A, '1'.repeat(16)), undefined, traceparent(B, '2'.repeat(16))]);
    expect(placed.parent).toBe(ROOT_CONTEXT);
    expect(linked(placed)).toEqual([`${A}/${'1'.repeat(16)}`, `${B}/${'2'.repeat(16)}`]);
  });

  it('events stored without a trace (or with a malformed one): a root span without links', () => {
    const placed = placeAmong([undefined, '', 'not-a-traceparent']);
    expect(placed.parent).toBe(ROOT_CONTEXT);
    expect(placed.links).toEqual([]);
  });

  it('a batch of many traces links at most 128 of them', () => {
    const many = Array.from({ length: 300 }, (_, i) =>
      traceparent(i.toString(16).padStart(32, '0').replace(/^0/, 'c'), '3'.repeat(16)),
    );
    expect(placeAmong(many).links).toHaveLength(128);
  });
});
