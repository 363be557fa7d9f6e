import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';

/**
 * The audit trail of admin calls that change state (replay, rebuild, dead-letter retry and skip): each is
 * logged at info, with its caller, when it arrives. The caller is what the runtime sees, the peer's address, and
 * what the caller says of itself in the `evented-caller` metadata (the CLI sends user@host and its pid). The
 * latter is a claim, not an identity: the admin service has no authentication, so keep it on loopback or a
 * trusted network.
 */

export const CALLER_METADATA = 'evented-caller';

/** A declared caller longer than this is cut: it is logged and stored with dead-letter decisions. */
const MAX_DECLARED = 200;

export interface Caller {
  /** The address the call came from, as gRPC reports it ("127.0.0.1:53412"). */
  peer: string;
  /** What the caller says it is, when it says (`evented-caller`). */
  declared: string | undefined;
}

export const callerOf = (call: { getPeer(): string; metadata: Metadata }): Caller => {
  const [value] = call.metadata.get(CALLER_METADATA);
  const text = typeof value === 'string' ? value.replace(/[\u0000-\u001f\u007f]/g, ' ').trim() : undefined;
  return {
    peer: call.getPeer(),
    declared: text ? text.slice(0, MAX_DECLARED) : undefined,
  };
};

/** "ada@build-1 pid 4242 (127.0.0.1:53412)", or the address alone. */
export const describeCaller = (caller: Caller): string =>
  caller.declared === undefined ? caller.peer : `${caller.declared} (${caller.peer})`;

/** Logs one state-changing admin call: what was asked (`action`, `details`) and by whom. */
export const audit = (
  logger: Logger,
  caller: Caller,
  action: string,
  details: Record<string, unknown>,
): void => {
  logger.info(
    { audit: action, caller: caller.declared, peer: caller.peer, ...details },
    `admin: ${action} asked by ${describeCaller(caller)}`,
  );
};
