import { makeGenericClientConstructor, Metadata } from '@grpc/grpc-js';
import { encodeEventBatch, encodeEventBook } from '../protocol/event-batch-encoder.js';
import {
  type ProjectorClient as GeneratedProjectorClient,
  ProjectorService,
  type EventBatch,
  type EventBook,
  type Projection,
} from '../protocol/gen/evented/evented.js';
import { classifyFailure } from '../grpc/failure.js';
import { channelCredentials, type ClientTls } from '../grpc/client-credentials.js';
import { createRedialingClient, type ReconnectPolicy } from '../grpc/redialing-client.js';
import { inGrpcCall, withTraceMetadata } from '../tracing/spans.js';

/** A user's projector, reached over gRPC (evented.Projector, port 1738 by default). */
export interface ProjectorEndpoint {
  readonly name: string;
  readonly address: string;
  handle(book: EventBook, options: CallOptions): Promise<void>;
  handleBatch(batch: EventBatch, options: CallOptions): Promise<void>;
  handleSync(book: EventBook, options: CallOptions): Promise<Projection>;
  /** Asks the projector to forget its read model; false when it does not implement Reset. */
  reset(options: CallOptions): Promise<boolean>;
  close(): void;
}

export interface CallOptions {
  timeoutMs: number;
  /** Sent as gRPC metadata `evented-replay: true`, so the projector can hold back side effects. */
  replay?: boolean;
}

/** The generated client, with the books and batches it sends encoded in one pass (event-batch-encoder.ts). */
const ProjectorClient = makeGenericClientConstructor(
  {
    ...ProjectorService,
    handle: { ...ProjectorService.handle, requestSerialize: encodeEventBook },
    handleSync: { ...ProjectorService.handleSync, requestSerialize: encodeEventBook },
    handleBatch: { ...ProjectorService.handleBatch, requestSerialize: encodeEventBatch },
  },
  'evented.Projector',
) as unknown as typeof GeneratedProjectorClient;

const metadataFor = (options: CallOptions): Metadata => {
  const metadata = new Metadata();
  if (options.replay) metadata.set('evented-replay', 'true');
  return metadata;
};

/**
 * `reconnect`: how soon a projector that is down is tried again (see redialing-client.ts); `tls`: when it is
 * reached over TLS.
 */
export const connectProjector = (
  name: string,
  address: string,
  reconnect: ReconnectPolicy,
  tls?: ClientTls,
): ProjectorEndpoint => {
  const secure = channelCredentials(tls, address);
  const client = createRedialingClient(
    (options) => new ProjectorClient(address, secure.credentials, { ...options, ...secure.options }),
    reconnect,
  );
  // Built inside the call's span, so that the metadata carries its traceparent.
  const call = (options: CallOptions) => ({
    timeoutMs: options.timeoutMs,
    metadata: withTraceMetadata(metadataFor(options)),
  });
  /** Each call in a CLIENT span `evented.projector NAME`, a child of the delivery (or synchronous) span. */
  const traced = <T>(method: string, run: () => Promise<T>): Promise<T> =>
    inGrpcCall(
      `evented.projector ${name}`,
      { service: 'evented.Projector', method, address, attributes: { 'evented.projector': name } },
      run,
    );
  return {
    name,
    address,
    handle: async (book, options) => {
      await traced('Handle', () => client.call((c) => c.handle.bind(c), book, call(options)));
    },
    handleBatch: async (batch, options) => {
      await traced('HandleBatch', () => client.call((c) => c.handleBatch.bind(c), batch, call(options)));
    },
    handleSync: (book, options) =>
      traced('HandleSync', () => client.call((c) => c.handleSync.bind(c), book, call(options))),
    reset: async (options) => {
      try {
        await traced('Reset', () => client.call((c) => c.reset.bind(c), {}, call(options)));
        return true;
      } catch (error) {
        if (classifyFailure(error) === 'unimplemented') return false;
        throw error;
      }
    },
    close: () => client.close(),
  };
};
