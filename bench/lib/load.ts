import { performance } from 'node:perf_hooks';
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';

/**
 * A closed-loop load generator over raw grpc-js: `concurrency` slots each send a unary call, wait for its
 * answer and send the next one. Requests and responses are pre-encoded Buffers (identity serializers), so the
 * generator costs the same whatever service it drives, and its own protobuf work does not skew the comparison.
 * One warm-up, then a measured window; only calls that complete inside the window count.
 */

const identity = (buffer: Buffer): Buffer => buffer;

export interface UnaryTarget {
  readonly address: string;
  /** The full method path, e.g. "/evented.BusinessCoordinator/Handle". */
  readonly path: string;
}

export interface WindowResult {
  /** Calls completed successfully inside the measured window. */
  completed: number;
  /** Calls failed inside the measured window, by status code name or message. */
  errors: Map<string, number>;
  windowMs: number;
  /** Latencies in ms of the calls completed inside the window (successful ones). */
  latencies: Float64Array;
}

export interface UnaryCaller {
  call(request: Buffer): Promise<Buffer>;
  close(): void;
}

/** A generic grpc-js client for one method, with identity serializers. */
export const unaryCaller = (target: UnaryTarget, timeoutMs = 30_000): UnaryCaller => {
  const client = new Client(target.address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  return {
    call: (request) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          target.path,
          identity,
          identity,
          request,
          new Metadata(),
          { deadline: Date.now() + timeoutMs },
          (err: ServiceError | null, response?: Buffer) => (err ? reject(err) : resolve(response!)),
        );
      }),
    close: () => client.close(),
  };
};

/** Sends `requests` with at most `concurrency` in flight; rejects on the first failure. */
export const sendAll = async (
  caller: UnaryCaller,
  requests: Buffer[],
  concurrency: number,
  signal?: AbortSignal,
): Promise<void> => {
  let next = 0;
  const slot = async (): Promise<void> => {
    while (next < requests.length && signal?.aborted !== true) await caller.call(requests[next++]!);
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
};

const errorName = (err: unknown): string => {
  const e = err as Partial<ServiceError>;
  return typeof e.code === 'number' ? `code ${e.code}: ${e.details ?? ''}` : String(err);
};

export const runClosedLoop = async (options: {
  caller: UnaryCaller;
  concurrency: number;
  warmupMs: number;
  windowMs: number;
  nextRequest: () => Buffer;
  /** Called when the warm-up ends and the measured window starts, and when the window ends. */
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
  /** Stops sending (the benchmark is being stopped). */
  signal?: AbortSignal;
}): Promise<WindowResult> => {
  const { caller, concurrency } = options;
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.windowMs;
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let completed = 0;

  const slot = async (): Promise<void> => {
    for (;;) {
      const sent = performance.now();
      if (sent >= windowEnd || options.signal?.aborted === true) return;
      try {
        await caller.call(options.nextRequest());
        const done = performance.now();
        if (done >= windowStart && done < windowEnd) {
          completed += 1;
          latencies.push(done - sent);
        }
      } catch (err) {
        const done = performance.now();
        if (done >= windowStart && done < windowEnd) {
          const name = errorName(err);
          errors.set(name, (errors.get(name) ?? 0) + 1);
        }
        // A call that fails at once must not turn the slot into a loop that starves the event loop.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
  };
  const timers = [
    options.onWindowStart && setTimeout(options.onWindowStart, options.warmupMs),
    options.onWindowEnd && setTimeout(options.onWindowEnd, options.warmupMs + options.windowMs),
  ];
  await Promise.all(Array.from({ length: concurrency }, slot));
  for (const timer of timers) clearTimeout(timer);
  return { completed, errors, windowMs: options.windowMs, latencies: Float64Array.from(latencies) };
};
