import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import {
  AdminService,
  type AdminServer,
  type LoggedEvent,
  type ReplayProgress,
  type ReplayRequest,
  type TailRequest,
} from '../protocol/gen/evented/evented.js';
import type { HostedService } from '../grpc/server.js';
import { serverStream, unary } from '../grpc/handlers.js';
import { replaySubscriber, type ReplaySources } from './replay.js';
import { runtimeStatus, type StatusSources } from './status.js';
import { tailLog } from './tail.js';

/**
 * evented.Admin over gRPC: what the CLI's status, tail, replay and rebuild talk to, so that they work the same
 * against a local or a remote runtime. `stopping` ends followed tails and replays when the runtime shuts down.
 */
export interface AdminSources
  extends Omit<StatusSources, 'projectors' | 'sagas'>, Omit<ReplaySources, 'measuredRates'> {
  /** How often a followed tail looks for events committed by other processes. */
  pollMs: number;
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

export const adminService = (sources: AdminSources, stopping: AbortSignal, logger: Logger): HostedService => {
  const replaySources = { ...sources, measuredRates: new Map<string, number>() };
  const implementation: AdminServer = {
    status: unary(logger, 'Status', () => runtimeStatus(sources)),
    tail: serverStream(logger, 'Tail', (request: TailRequest, call) =>
      tailLog(sources.store, request, { pollMs: sources.pollMs, signal: callSignal(call, stopping) }),
    ) as (call: ServerWritableStream<TailRequest, LoggedEvent>) => void,
    replay: serverStream(logger, 'Replay', (request: ReplayRequest, call) =>
      replaySubscriber(replaySources, request, callSignal(call, stopping)),
    ) as (call: ServerWritableStream<ReplayRequest, ReplayProgress>) => void,
  };
  return { name: 'evented.Admin', definition: AdminService, implementation };
};
