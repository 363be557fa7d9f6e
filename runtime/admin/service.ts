import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  AdminService,
  type AdminServer,
  type DeadLetterQuery,
  type DeadLetterRef,
  type DeadLetterRequest,
  type LoggedEvent,
  type ReplayProgress,
  type ReplayRequest,
  type TailRequest,
  type TraceRequest,
  type Cover,
  type Snapshot,
  type CommandLogRequest,
  type LoggedCommand,
} from '../protocol/gen/evented/evented.js';
import { validateCover } from '../protocol/validate.js';
import type { HostedService } from '../grpc/server.js';
import { serverStream, unary } from '../grpc/handlers.js';
import { formatCover } from '../protocol/cover.js';
import { audit, callerOf, describeCaller } from './audit.js';
import { countCommands, listCommands } from './command-log.js';
import {
  getDeadLetter,
  listDeadLetters,
  retryDeadLetters,
  skipDeadLetters,
  type DeadLettered,
} from './dead-letters.js';
import { replaySubscriber, type Replayable, type ReplaySources } from './replay.js';
import { runtimeStatus, type StatusSources } from './status.js';
import { tailLog } from './tail.js';
import { traceCorrelation, type TracedSubscriber } from './trace.js';

/**
 * evented.Admin over gRPC: what the CLI's status, tail, replay, rebuild and dlq talk to, so that they work the
 * same against a local or a remote runtime. `stopping` ends followed tails and replays when the runtime shuts
 * down. Every call that changes state is logged with its caller first (audit.ts).
 */
export interface AdminSources
  extends
    Omit<StatusSources, 'projectors' | 'sagas'>,
    Omit<ReplaySources, 'projectors' | 'sagas' | 'measuredRates'> {
  projectors: ReadonlyMap<string, Replayable & DeadLettered>;
  sagas: ReadonlyMap<string, Replayable & DeadLettered>;
  /**
   * Projectors this process does not deliver but replays (an admin process without the role projectors): a
   * replay through it pauses the processes that deliver them. Not listed by status.
   */
  replayOnly?: ReadonlyMap<string, Replayable> | undefined;
  /** How often a followed tail looks for events committed by other processes. */
  pollMs: number;
  /** Every projector and saga of the project, wherever it runs: what a trace shows for each event. */
  subscribers: readonly TracedSubscriber[];
}

/** Aborts when the call is cancelled by the client or when the runtime stops. */
const callSignal = (call: ServerWritableStream<unknown, unknown>, stopping: AbortSignal): AbortSignal => {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  call.once('cancelled', abort);
  call.once('close', abort);
  if (stopping.aborted) abort();
  else stopping.addEventListener('abort', abort, { once: true });
  controller.signal.addEventListener('abort', () => stopping.removeEventListener('abort', abort), {
    once: true,
  });
  return controller.signal;
};

const describeRequest = (request: DeadLetterRequest): Record<string, unknown> => ({
  ids: request.ids.length > 0 ? request.ids : undefined,
  subscriber: request.subscriber || undefined,
  aggregate: request.aggregate && formatCover(request.aggregate),
});

export const adminService = (sources: AdminSources, stopping: AbortSignal, logger: Logger): HostedService => {
  const replayOnly = sources.replayOnly ?? new Map<string, Replayable>();
  const replaySources: ReplaySources = {
    ...sources,
    projectors: new Map([...sources.projectors, ...replayOnly]),
    elsewhere: {
      ...sources.elsewhere,
      projectors: sources.elsewhere.projectors.filter((name) => !replayOnly.has(name)),
    },
    measuredRates: new Map<string, number>(),
  };
  const implementation: AdminServer = {
    status: unary(logger, 'Status', () => runtimeStatus(sources)),
    tail: serverStream(logger, 'Tail', (request: TailRequest, call) =>
      tailLog(sources.store, request, { pollMs: sources.pollMs, signal: callSignal(call, stopping) }),
    ) as (call: ServerWritableStream<TailRequest, LoggedEvent>) => void,
    replay: serverStream(logger, 'Replay', (request: ReplayRequest, call) => {
      if (!request.dryRun) {
        audit(logger, callerOf(call), request.rebuild ? 'rebuild' : 'replay', {
          subscriber: `${request.saga ? 'saga' : 'projector'}:${request.subscriber}`,
          after: request.after,
          domain: request.domain || undefined,
        });
      }
      return replaySubscriber(replaySources, request, callSignal(call, stopping));
    }) as (call: ServerWritableStream<ReplayRequest, ReplayProgress>) => void,
    listDeadLetters: unary(logger, 'ListDeadLetters', (request: DeadLetterQuery) =>
      listDeadLetters(sources, request),
    ),
    getDeadLetter: unary(logger, 'GetDeadLetter', (request: DeadLetterRef) =>
      getDeadLetter(sources, request.id),
    ),
    retryDeadLetters: unary(logger, 'RetryDeadLetters', (request: DeadLetterRequest, call) => {
      const caller = callerOf(call);
      audit(logger, caller, 'dead-letter retry', describeRequest(request));
      return retryDeadLetters(sources, request, describeCaller(caller));
    }),
    skipDeadLetters: unary(logger, 'SkipDeadLetters', (request: DeadLetterRequest, call) => {
      const caller = callerOf(call);
      audit(logger, caller, 'dead-letter skip', describeRequest(request));
      return skipDeadLetters(sources, request, describeCaller(caller));
    }),
    trace: unary(logger, 'Trace', (request: TraceRequest) =>
      traceCorrelation(sources.store, sources.subscribers, request),
    ),
    getSnapshot: unary(logger, 'GetSnapshot', async (cover: Cover): Promise<Snapshot> => {
      const { snapshot } = await sources.store.load(validateCover(cover, 'aggregate'));
      return snapshot ?? { sequence: 0, state: undefined };
    }),
    listCommands: serverStream(logger, 'ListCommands', (request: CommandLogRequest) =>
      listCommands(sources.store, request),
    ) as (call: ServerWritableStream<CommandLogRequest, LoggedCommand>) => void,
    countCommands: unary(logger, 'CountCommands', (request: CommandLogRequest) =>
      countCommands(sources.store, request),
    ),
  };
  return { name: 'evented.Admin', definition: AdminService, implementation };
};
