import { Metadata, status as Status } from '@grpc/grpc-js';
import { BusinessFailure, BusinessRejection, UnavailableError } from '../errors/index.js';
import { BusinessLogicService, ContextualCommand, EventBook } from '../protocol/gen/evented/evented.js';
import { MAX_MESSAGE_BYTES } from '../grpc/server.js';
import { createUnaryClient, isAnswerTooLarge } from '../grpc/unary-client.js';
import type { ClientTls } from '../grpc/client-credentials.js';
import { isServiceError } from '../grpc/unary.js';
import { inGrpcCall, traceHeaders } from '../tracing/spans.js';

/** A domain's business logic, reached over gRPC (evented.BusinessLogic, port 1737 by default). */
export interface BusinessLogic {
  readonly domain: string;
  readonly address: string;
  /**
   * Runs the command — a ContextualCommand, or its encoding (the command handler splices it from cached
   * parts) — and returns the new events; throws BusinessRejection, BusinessFailure or UnavailableError.
   */
  decide(command: ContextualCommand | Uint8Array, timeoutMs: number): Promise<EventBook>;
  close(): void;
}

/** Status codes with which business logic refuses a command; they reach the caller unchanged. */
const REJECTIONS = new Set<Status>([
  Status.INVALID_ARGUMENT,
  Status.FAILED_PRECONDITION,
  Status.NOT_FOUND,
  Status.ALREADY_EXISTS,
  Status.PERMISSION_DENIED,
  Status.UNAUTHENTICATED,
  Status.OUT_OF_RANGE,
  Status.RESOURCE_EXHAUSTED,
  Status.ABORTED,
  Status.CANCELLED,
]);

const RETRY_DELAYS_MS = [25, 50, 100, 200, 400, 800];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Decodes the answer; a malformed one fails like grpc-js reports it (INTERNAL), not as an unexpected error. */
const decodeBook = (bytes: Buffer): EventBook => {
  try {
    return EventBook.decode(bytes);
  } catch (err) {
    throw Object.assign(new Error(`Failed to parse server response: ${(err as Error).message}`), {
      code: Status.INTERNAL,
      details: `Failed to parse server response: ${(err as Error).message}`,
      metadata: new Metadata(),
    });
  }
};

/**
 * Business logic is called through the lean unary client (grpc/unary-client.ts) rather than a grpc-js channel:
 * it is the one call every command makes, and grpc-js's client costs about twice the CPU per call.
 */
export const connectBusinessLogic = (
  domain: string,
  address: string,
  /** The largest answer taken (a larger one is refused as it arrives, RESOURCE_EXHAUSTED). */
  maxReceiveMessageBytes = MAX_MESSAGE_BYTES,
  /** TLS, when it is reached over TLS (the domain's `tls` in evented.yaml). */
  tls?: ClientTls,
): BusinessLogic => {
  const client = createUnaryClient(address, {
    maxReceiveMessageBytes,
    userAgent: 'evented',
    tls,
  });
  const { path } = BusinessLogicService.handle;
  const where = `business logic for "${domain}" at ${address}`;

  const logic: BusinessLogic = {
    domain,
    address,
    async decide(command, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const request = command instanceof Uint8Array ? command : ContextualCommand.encode(command).finish();
      // The business logic continues the trace of the call's span (its traceparent in the call's metadata).
      const headers = traceHeaders();
      for (let attempt = 0; ; attempt += 1) {
        try {
          return decodeBook(await client.call(path, request, Math.max(1, deadline - Date.now()), headers));
        } catch (err) {
          if (!isServiceError(err)) throw err;
          if (isAnswerTooLarge(err)) {
            throw new BusinessFailure(
              `${where} answered more than ${maxReceiveMessageBytes} bytes, over what a book may be (commandHandler.maxBookBytes)`,
            );
          }
          if (REJECTIONS.has(err.code)) throw new BusinessRejection(err.details, err.code);
          if (err.code === Status.DEADLINE_EXCEEDED) {
            throw new UnavailableError(`${where} did not answer within ${timeoutMs} ms`, {
              hint: 'check that it is not stuck, or raise commandHandler.businessLogicTimeoutMs',
            });
          }
          if (err.code === Status.UNAVAILABLE) {
            // Nothing reached the business logic, so trying again is safe; stop before the deadline.
            const delay = RETRY_DELAYS_MS[attempt];
            if (delay !== undefined && Date.now() + delay < deadline) {
              await sleep(delay);
              continue;
            }
            throw new UnavailableError(`${where} is unavailable: ${err.details}`, {
              hint: 'is it running and listening on that address?',
            });
          }
          throw new BusinessFailure(`${where} failed (${Status[err.code]}): ${err.details}`);
        }
      }
    },
    close: () => client.close(),
  };
  const call = {
    service: 'evented.BusinessLogic',
    method: 'Handle',
    address,
    attributes: { 'evented.domain': domain },
  };
  return {
    ...logic,
    decide: (command, timeoutMs) =>
      inGrpcCall(`evented.business_logic ${domain}`, call, () => logic.decide(command, timeoutMs)),
  };
};
