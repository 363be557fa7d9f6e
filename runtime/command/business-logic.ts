import { credentials, status as Status } from '@grpc/grpc-js';
import { BusinessFailure, BusinessRejection, UnavailableError } from '../errors/index.js';
import {
  BusinessLogicClient,
  type ContextualCommand,
  type EventBook,
} from '../protocol/gen/evented/evented.js';
import { grpcChannelOptions } from '../grpc/server.js';
import { callUnary, isServiceError } from '../grpc/unary.js';

/** A domain's business logic, reached over gRPC (evented.BusinessLogic, port 1737 by default). */
export interface BusinessLogic {
  readonly domain: string;
  readonly address: string;
  /** Runs the command; throws BusinessRejection, BusinessFailure or UnavailableError. */
  decide(command: ContextualCommand, timeoutMs: number): Promise<EventBook>;
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

export const connectBusinessLogic = (domain: string, address: string): BusinessLogic => {
  const client = new BusinessLogicClient(address, credentials.createInsecure(), grpcChannelOptions);
  const handle = client.handle.bind(client);
  const where = `business logic for "${domain}" at ${address}`;

  return {
    domain,
    address,
    async decide(command, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (let attempt = 0; ; attempt += 1) {
        try {
          return await callUnary(handle, command, { timeoutMs: Math.max(1, deadline - Date.now()) });
        } catch (err) {
          if (!isServiceError(err)) throw err;
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
};
