import { pathToFileURL } from 'node:url';
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { Empty } from './gen/google/protobuf/empty.js';
import {
  SagaService,
  type CommandBook,
  type EventBook,
  type SagaServer,
  type SynchronousProcessingResponse,
} from './gen/evented/evented.js';
import { decodeEvent, encodeCommand, uuidFromBytes, uuidToBytes } from './codec.js';
import { listenAddress, serve } from './serve.js';

/**
 * The transfers saga, served as evented.Saga: when money leaves an account (MoneyTransferredOut), it issues
 * ReceiveTransfer to the receiving account. evented sends the command through the account domain's business
 * logic, and makes sure a redelivered event does not credit the money twice.
 */
export const transferCommands = (book: EventBook): CommandBook[] => {
  const from = uuidFromBytes(book.cover?.root?.value ?? new Uint8Array(16));
  return book.pages.flatMap((page) => {
    const event = page.Event && decodeEvent(page.Event);
    if (event?.type !== 'MoneyTransferredOut') return [];
    return [
      {
        cover: { domain: book.cover?.domain ?? 'account', root: { value: uuidToBytes(event.toAccount) } },
        pages: [
          {
            sequence: 0,
            synchronous: false,
            command: encodeCommand({ type: 'ReceiveTransfer', fromAccount: from, amount: event.amount }),
          },
        ],
      },
    ];
  });
};

export const transfersSaga: SagaServer = {
  handle(_call: ServerUnaryCall<EventBook, Empty>, callback: sendUnaryData<Empty>) {
    callback(null, {});
  },
  handleSync(
    call: ServerUnaryCall<EventBook, SynchronousProcessingResponse>,
    callback: sendUnaryData<SynchronousProcessingResponse>,
  ) {
    callback(null, { books: [], projections: [], commands: transferCommands(call.request) });
  },
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await serve('transfers saga', SagaService, transfersSaga, listenAddress(1749));
}
