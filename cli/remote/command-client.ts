import { credentials, Metadata, status as Status } from '@grpc/grpc-js';
import {
  BusinessCoordinatorClient,
  type CommandBook,
  type SynchronousProcessingResponse,
} from '../../runtime/protocol/gen/evented/evented.js';
import { callUnary, isServiceError } from '../../runtime/grpc/unary.js';
import { CliError } from '../errors.js';

/**
 * The CLI's view of a runtime's command handler (evented.BusinessCoordinator) over gRPC, for `evented send`:
 * one command in, its events out; a refusal comes back as one clear line.
 */

/** What the command handler said, as one line; the status name tells a rejection from a failure. */
const refusal = (err: unknown, address: string): unknown => {
  if (!isServiceError(err)) return err;
  const reachable = err.code !== Status.UNAVAILABLE || /business logic/i.test(err.details);
  return new CliError(
    `${Status[err.code]}: ${err.details}`,
    reachable ? undefined : `is the runtime's command handler at ${address} running? (evented status)`,
    Status[err.code],
  );
};

/** Sends `book` to the command handler at `address` and waits up to `timeoutMs` for its answer. */
export const handleCommand = async (
  address: string,
  book: CommandBook,
  timeoutMs: number,
): Promise<SynchronousProcessingResponse> => {
  const client = new BusinessCoordinatorClient(address, credentials.createInsecure());
  try {
    return await callUnary(client.handle.bind(client), book, { timeoutMs, metadata: new Metadata() });
  } catch (err) {
    throw refusal(err, address);
  } finally {
    client.close();
  }
};
