import { Metadata, status as Status } from '@grpc/grpc-js';
import {
  BusinessCoordinatorClient,
  type CommandBook,
  type SynchronousProcessingResponse,
} from '../../runtime/protocol/gen/evented/evented.js';
import { callUnary, isServiceError } from '../../runtime/grpc/unary.js';
import { channelCredentials, type ClientTls } from '../../runtime/grpc/client-credentials.js';
import { ORIGIN_METADATA } from '../../runtime/protocol/origin-metadata.js';
import { CliError } from '../errors.js';
import { tlsFailureOf } from './admin-client.js';

/**
 * The CLI's view of a runtime's command handler (evented.BusinessCoordinator) over gRPC, for `evented send`:
 * one command in, its events out; a refusal comes back as one clear line.
 */

/** What the command handler said, as one line; the status name tells a rejection from a failure. */
const refusal = (err: unknown, address: string): unknown => {
  if (!isServiceError(err)) return err;
  const tlsFailure =
    err.code === Status.UNAVAILABLE ? tlsFailureOf(err.details, address, 'UNAVAILABLE') : undefined;
  if (tlsFailure !== undefined) return tlsFailure;
  const reachable = err.code !== Status.UNAVAILABLE || /business logic/i.test(err.details);
  return new CliError(
    `${Status[err.code]}: ${err.details}`,
    reachable ? undefined : `is the runtime's command handler at ${address} running? (evented status)`,
    Status[err.code],
  );
};

/**
 * Sends `book` to the command handler at `address` (over TLS with `tls`), with `correlationId` when given, and
 * waits up to `timeoutMs` for its answer. The command handler requires no token: it is the application's own API
 * (see the README).
 */
export const handleCommand = async (
  address: string,
  book: CommandBook,
  timeoutMs: number,
  tls?: ClientTls,
  correlationId?: string,
): Promise<SynchronousProcessingResponse> => {
  const secure = channelCredentials(tls, address);
  const client = new BusinessCoordinatorClient(address, secure.credentials, secure.options);
  const metadata = new Metadata();
  if (correlationId !== undefined) metadata.set(ORIGIN_METADATA.correlationId, correlationId);
  try {
    return await callUnary(client.handle.bind(client), book, { timeoutMs, metadata });
  } catch (err) {
    throw refusal(err, address);
  } finally {
    client.close();
  }
};
