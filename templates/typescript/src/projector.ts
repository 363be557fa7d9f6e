import { pathToFileURL } from 'node:url';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Empty } from './gen/google/protobuf/empty.js';
import {
  ProjectorService,
  type EventBatch,
  type EventBook,
  type Projection,
  type ProjectorServer,
} from './gen/evented/evented.js';
import { encodeState, uuidFromBytes } from './codec.js';
import { AccountsReadModel } from './read-model.js';
import { listenAddress, serve } from './serve.js';

/**
 * The accounts projector, served as evented.Projector: keeps the accounts read model (read-model.ts) up to date.
 * Every call is saved before it is answered, so an acknowledged event is never lost by a crash.
 *
 * Calls for different accounts may arrive at once (several runtime processes, or `concurrency` above 1). Each
 * handler applies and saves without awaiting in between, so on Node's one thread no two calls interleave: a
 * handler that awaits (a database client, say) needs a transaction per call or a lock around apply and save.
 */
export const accountsProjector = (model: AccountsReadModel): ProjectorServer => {
  const projectionOf = (book: EventBook): Projection => {
    const id = uuidFromBytes(book.cover?.root?.value ?? new Uint8Array(16));
    const view = model.get(id);
    return {
      cover: book.cover,
      projector: 'accounts',
      sequence: Math.max(view?.sequence ?? 0, 0),
      projection: view ? encodeState(view) : undefined,
    };
  };
  return {
    handle(call: ServerUnaryCall<EventBook, Empty>, callback: sendUnaryData<Empty>) {
      if (model.apply(call.request) > 0) model.save();
      callback(null, {});
    },
    handleBatch(call: ServerUnaryCall<EventBatch, Empty>, callback: sendUnaryData<Empty>) {
      const applied = call.request.books.reduce((n, book) => n + model.apply(book), 0);
      if (applied > 0) model.save();
      callback(null, {});
    },
    reset(_call: ServerUnaryCall<Empty, Empty>, callback: sendUnaryData<Empty>) {
      model.reset();
      model.save();
      callback(null, {});
    },
    handleSync(call: ServerUnaryCall<EventBook, Projection>, callback: sendUnaryData<Projection>) {
      if (model.apply(call.request) > 0) model.save();
      callback(null, projectionOf(call.request));
    },
  };
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const model = new AccountsReadModel(process.env.READ_MODEL ?? 'read-model/accounts.json');
  await serve('accounts projector', ProjectorService, accountsProjector(model), listenAddress(1738));
}
