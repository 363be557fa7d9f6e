import { credentials } from '@grpc/grpc-js';
import {
  SagaClient,
  type EventBook,
  type SynchronousProcessingResponse,
} from '../protocol/gen/evented/evented.js';
import { grpcChannelOptions } from '../grpc/server.js';
import { callUnary } from '../grpc/unary.js';

/** A user's saga, reached over gRPC (evented.Saga). evented calls HandleSync, whose answer carries its output. */
export interface SagaEndpoint {
  readonly name: string;
  readonly address: string;
  react(book: EventBook, timeoutMs: number): Promise<SynchronousProcessingResponse>;
  close(): void;
}

export const connectSaga = (name: string, address: string): SagaEndpoint => {
  const client = new SagaClient(address, credentials.createInsecure(), grpcChannelOptions);
  const handleSync = client.handleSync.bind(client);
  return {
    name,
    address,
    react: (book, timeoutMs) => callUnary(handleSync, book, { timeoutMs }),
    close: () => client.close(),
  };
};
