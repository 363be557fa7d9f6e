import { makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
import { encodeEventBook } from '../protocol/event-batch-encoder.js';
import {
  type SagaClient as GeneratedSagaClient,
  SagaService,
  type EventBook,
  type SynchronousProcessingResponse,
} from '../protocol/gen/evented/evented.js';
import { createRedialingClient, type ReconnectPolicy } from '../grpc/redialing-client.js';
import { channelCredentials, type ClientTls } from '../grpc/client-credentials.js';
import { inGrpcCall, withTraceMetadata } from '../tracing/spans.js';

/** A user's saga, reached over gRPC (evented.Saga). evented calls HandleSync, whose answer carries its output. */
export interface SagaEndpoint {
  readonly name: string;
  readonly address: string;
  /** `replay`: the saga was given this event before; sent as gRPC metadata `evented-replay: true`. */
  react(
    book: EventBook,
    options: { timeoutMs: number; replay?: boolean },
  ): Promise<SynchronousProcessingResponse>;
  close(): void;
}

/** The generated client, with the books it sends encoded in one pass (event-batch-encoder.ts). */
const SagaClient = makeGenericClientConstructor(
  { ...SagaService, handleSync: { ...SagaService.handleSync, requestSerialize: encodeEventBook } },
  'evented.Saga',
) as unknown as typeof GeneratedSagaClient;

/** `reconnect`: how soon a saga that is down is tried again (see redialing-client.ts); `tls`: over TLS. */
export const connectSaga = (
  name: string,
  address: string,
  reconnect: ReconnectPolicy,
  tls?: ClientTls,
): SagaEndpoint => {
  const secure = channelCredentials(tls, address);
  const client = createRedialingClient(
    (options) => new SagaClient(address, secure.credentials, { ...options, ...secure.options }),
    reconnect,
  );
  return {
    name,
    address,
    react: (book, { timeoutMs, replay }) =>
      inGrpcCall(
        `evented.saga ${name}`,
        { service: 'evented.Saga', method: 'HandleSync', address, attributes: { 'evented.saga': name } },
        () => {
          const metadata = withTraceMetadata(new Metadata());
          if (replay) metadata.set('evented-replay', 'true');
          return client.call((c) => c.handleSync.bind(c), book, { timeoutMs, metadata });
        },
      ),
    close: () => client.close(),
  };
};
