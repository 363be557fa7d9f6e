import { toGrpcStatus } from '../errors/to-grpc-status.js';
import type { BusinessRejection } from '../errors/index.js';
import type { Origin } from '../protocol/gen/evented/evented.js';
import type { ValidCover } from '../protocol/validate.js';
import type { CommandDecision, NewLoggedCommand } from '../store/port.js';

/**
 * What the decision log (`commandLog: true`) keeps of a command the command handler decided: the command as it
 * was received, the state it was decided on (the aggregate's next sequence) and when, and the call's origin. An
 * accepted command's decision rides on its append; a refusal is logged with the status the caller receives.
 */

export const decisionOf = (
  encodedCommand: Uint8Array,
  decidedOn: number,
  origin: Origin,
): CommandDecision => ({
  command: encodedCommand,
  commandType: origin.commandType,
  decidedOn,
  at: Date.now(),
  correlationId: origin.correlationId,
  commandId: origin.commandId,
});

/** A refusal as logged: business logic's gRPC status, code and message exactly as the caller gets them. */
export const refusalOf = (
  cover: ValidCover,
  decision: CommandDecision,
  rejection: BusinessRejection,
): NewLoggedCommand => {
  const status = toGrpcStatus(rejection);
  return {
    domain: cover.domain,
    root: cover.root,
    ...decision,
    outcome: 'refused',
    errorCode: status.code,
    errorMessage: status.details,
  };
};

/** An acceptance that appended nothing (business logic returned no events and no snapshot). */
export const emptyAcceptanceOf = (cover: ValidCover, decision: CommandDecision): NewLoggedCommand => ({
  domain: cover.domain,
  root: cover.root,
  ...decision,
  outcome: 'accepted',
  eventCount: 0,
});
