import {
  connectivityState,
  status as Status,
  type ChannelOptions,
  type Client,
  type Metadata,
} from '@grpc/grpc-js';
import { grpcChannelOptions } from './server.js';
import { callUnary, isServiceError, type UnaryMethod } from './unary.js';

/**
 * A grpc-js client for a user's service that evented calls again and again while it is down (a projector, a
 * saga, another runtime's command handler), so that each of evented's attempts really tries to reach it.
 *
 * A grpc-js channel that cannot connect waits between its own connection attempts, doubling from 1 s up to
 * 120 s, and a call made while it waits fails at once without trying: a projector restarted after a few minutes
 * down was reached only at the channel's next attempt, up to two minutes later, whatever evented's retry
 * schedule (`delivery.maxBackoffMs`). So here:
 * - the channel's own backoff follows evented's (from `initialBackoffMs`, doubling, at most `maxBackoffMs`);
 * - a call that failed because the channel could not connect (UNAVAILABLE while it waits out its backoff) makes
 *   the next call use a new channel, which dials at once: every retry the caller makes after its own wait is a
 *   real connection attempt, and a service that is back is reached on the first one;
 * - each channel has subchannels of its own (`grpc.use_local_subchannel_pool`): from grpc-js's shared pool a new
 *   channel would get the old connection back, still waiting out its backoff.
 */

export interface ReconnectPolicy {
  /** The channel's first wait between connection attempts. */
  initialBackoffMs: number;
  /** Its longest wait: `delivery.maxBackoffMs`. */
  maxBackoffMs: number;
}

export interface RedialingClient<C extends Client> {
  /** Calls a unary method of the current client (`(client) => client.handle.bind(client)`). */
  call<Req, Res>(
    method: (client: C) => UnaryMethod<Req, Res>,
    request: Req,
    options: { timeoutMs: number; metadata?: Metadata },
  ): Promise<Res>;
  close(): void;
}

export const reconnectChannelOptions = (policy: ReconnectPolicy): ChannelOptions => ({
  ...grpcChannelOptions,
  'grpc.initial_reconnect_backoff_ms': Math.min(policy.initialBackoffMs, policy.maxBackoffMs),
  'grpc.max_reconnect_backoff_ms': policy.maxBackoffMs,
  'grpc.use_local_subchannel_pool': 1,
});

/** `create` makes a client on the given channel options (`new ProjectorClient(address, credentials, options)`). */
export const createRedialingClient = <C extends Client>(
  create: (options: ChannelOptions) => C,
  policy: ReconnectPolicy,
): RedialingClient<C> => {
  const options = reconnectChannelOptions(policy);
  let client = create(options);
  let redial = false;
  let closed = false;

  const current = (): C => {
    if (redial && !closed) {
      // Calls already under way on the old channel go on; it had no connection to offer new ones.
      client.close();
      client = create(options);
      redial = false;
    }
    return client;
  };

  /** Whether the call failed because the channel is waiting out its backoff, not because the service said so. */
  const couldNotConnect = (failed: C, err: unknown): boolean =>
    isServiceError(err) &&
    err.code === Status.UNAVAILABLE &&
    failed.getChannel().getConnectivityState(false) === connectivityState.TRANSIENT_FAILURE;

  return {
    async call(method, request, callOptions) {
      const used = current();
      try {
        return await callUnary(method(used), request, callOptions);
      } catch (err) {
        if (used === client && couldNotConnect(used, err)) redial = true;
        throw err;
      }
    },
    close() {
      closed = true;
      client.close();
    },
  };
};
