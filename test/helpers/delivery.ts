import { Server, ServerCredentials, status, type Metadata, type StatusObject } from '@grpc/grpc-js';
import { connect } from 'amqplib';
import { afterAll } from 'vitest';
import {
  type EventBook,
  ProjectorService,
  SagaService,
  type CommandBook,
  type EventPage,
  type ProjectorServer,
  type SagaServer,
} from '../../runtime/protocol/gen/evented/evented.js';
import { uuidFromBytes, uuidToBytes } from '../../runtime/protocol/uuid.js';
import { decodeEvent, encodeCommand } from '../../templates/typescript/src/codec.js';
import {
  evolve,
  initialAccount,
  type AccountCommand,
  type AccountEvent,
} from '../../templates/typescript/src/domain.js';
import type { AccountView } from '../../templates/typescript/src/read-model.js';
import { command, deposit } from './account.js';
import type { CommandClient, QueryClient } from './clients.js';
import { typescriptTemplate } from './paths.js';
import { startProcess, type TestProcess } from './processes.js';

/**
 * Helpers for the delivery resilience tests: what the store says the read model must be, a projector that
 * records every delivery it gets, the sample projector on a port of our choosing (so it can come back where
 * evented expects it), and the clean-up of RabbitMQ.
 */

/** The accounts read model as the store's events imply it: every account's events folded in sequence order. */
export const foldAccounts = (books: readonly EventBook[]): Record<string, AccountView> => {
  const accounts: Record<string, AccountView> = {};
  for (const book of books) {
    const id = uuidFromBytes(book.cover?.root?.value ?? new Uint8Array(16));
    for (const page of book.pages) {
      const view = accounts[id] ?? { ...initialAccount, sequence: -1 };
      if (page.num !== view.sequence + 1) {
        throw new Error(`account ${id}: event ${page.num} follows ${view.sequence} in the store`);
      }
      const event = page.Event && decodeEvent(page.Event);
      accounts[id] = { ...(event ? evolve(view, event) : view), sequence: page.num };
    }
  }
  return accounts;
};

/** Every account's events, read from the store through the query handler. */
export const storedAccountBooks = async (queries: QueryClient): Promise<EventBook[]> => {
  const roots = await queries.getAggregateRoots();
  const books: EventBook[] = [];
  for (const { domain, root } of roots) {
    if (domain !== 'account' || root === undefined) continue;
    books.push(...(await queries.getEvents({ domain, root })));
  }
  return books;
};

/** The read model the store implies, read through the query handler. */
export const accountsFromStore = async (queries: QueryClient): Promise<Record<string, AccountView>> =>
  foldAccounts(await storedAccountBooks(queries));

/**
 * Per "from→to" pair of account ids, how many transfers left the first (MoneyTransferredOut) and how many
 * arrived in the second (TransferReceived), as the store has them: a saga that carried each exactly once
 * leaves the two equal.
 */
export const transfersInStore = (
  books: readonly EventBook[],
): { out: Record<string, number>; received: Record<string, number> } => {
  const out: Record<string, number> = {};
  const received: Record<string, number> = {};
  for (const book of books) {
    const id = uuidFromBytes(book.cover?.root?.value ?? new Uint8Array(16));
    for (const page of book.pages) {
      const event = page.Event && decodeEvent(page.Event);
      if (event?.type === 'MoneyTransferredOut') {
        const pair = `${id}→${event.toAccount}`;
        out[pair] = (out[pair] ?? 0) + 1;
      } else if (event?.type === 'TransferReceived') {
        const pair = `${event.fromAccount}→${id}`;
        received[pair] = (received[pair] ?? 0) + 1;
      }
    }
  }
  return { out, received };
};

/** The sequences the store holds per account id: what a projector must end up having seen. */
export const sequencesByAccount = (books: readonly EventBook[]): Record<string, number[]> => {
  const result: Record<string, number[]> = {};
  for (const book of books) {
    const id = uuidFromBytes(book.cover?.root?.value ?? new Uint8Array(16));
    (result[id] ??= []).push(...book.pages.map((page) => page.num!));
  }
  return result;
};

export interface Delivered {
  account: string;
  sequence: number;
  event: AccountEvent | undefined;
  /** The call carried the gRPC metadata `evented-replay: true`. */
  replay: boolean;
  /** Its call's index in `calls`. */
  call: number;
}

/** One call that reached the recording projector. */
export interface RecordedCall {
  method: 'handle' | 'handleBatch' | 'handleSync';
  /** How many events it carried. */
  events: number;
  replay: boolean;
  /** "account#sequence" of each event it accepted (none when it refused the call or had no HandleBatch). */
  keys: string[];
  /** Date.now() when it arrived and when it was answered (undefined while it is being handled). */
  startedAt: number;
  answeredAt: number | undefined;
  /** The caller's address (host:port): which runtime process made the call. */
  peer: string;
}

export interface RecordingProjector {
  address: string;
  /** Every event handed over and accepted, in the order they came, across all calls. */
  readonly delivered: Delivered[];
  /** Calls refused (the failing event and its call), for how many times a refusal was tried. */
  readonly refused: number;
  /** Each call that reached it, in the order they came. */
  readonly calls: RecordedCall[];
  /** How long it takes to answer Handle and HandleBatch (ms); may be changed at any time. */
  delayMs: number;
  /** While set, Reset answers INTERNAL with this message. */
  failReset: string | undefined;
  /** Reset calls it answered with success. */
  readonly resets: number;
  /** For each Reset answered with success, how many calls had come before it (an index into `calls`). */
  readonly resetAt: number[];
  /** Calls left unanswered (`stall`). */
  readonly stalled: number;
  /** The sequences each account's events came in. */
  sequences(): Record<string, number[]>;
  /** (account, sequence) pairs that came more than once. */
  duplicates(): string[];
  /** The read model built from what was delivered, applying every delivery (a duplicate would show). */
  accounts(): Record<string, AccountView>;
  /** Stops serving (as if the projector were down); restart() serves again on the same address. */
  stop(): void;
  restart(): Promise<void>;
}

const servers = new Set<Server>();
afterAll(() => {
  for (const server of servers) server.forceShutdown();
  servers.clear();
});

const listen = async (
  server: Server,
  port = 0,
  credentials = ServerCredentials.createInsecure(),
): Promise<string> => {
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  servers.add(server);
  return `127.0.0.1:${bound}`;
};

/** Whether a call carried the metadata `evented-replay: true`. */
const replayed = (metadata: Metadata): boolean => metadata.get('evented-replay')[0]?.toString() === 'true';

/**
 * A projector served over real gRPC in the test process that records each event it accepts, with whether its call
 * was marked as a replay. Handle and HandleBatch are all or nothing: when `refuse` returns a reason for any page
 * of the call, the whole call fails with INTERNAL and that reason, and nothing of it is recorded. They answer
 * after `delayMs` (a slow projector); without `handleBatch` it answers HandleBatch UNIMPLEMENTED at once, so
 * evented calls Handle for each book. When `stall` is true for any page, the call is never answered (the caller's
 * deadline ends it) and nothing of it is recorded.
 */
export const startRecordingProjector = async (
  options: {
    refuse?: (account: string, page: EventPage, event: AccountEvent | undefined) => string | undefined;
    stall?: (account: string, page: EventPage, event: AccountEvent | undefined) => boolean;
    handleBatch?: boolean;
    delayMs?: number;
    /** To serve over TLS. */
    credentials?: ServerCredentials;
  } = {},
): Promise<RecordingProjector> => {
  const delivered: Delivered[] = [];
  const calls: RecordedCall[] = [];
  let refused = 0;
  let resets = 0;
  const resetAt: number[] = [];
  let stalled = 0;
  /** What to answer: nothing (stalled), an error, or OK once recorded. */
  const accept = (
    books: readonly EventBook[],
    call: RecordedCall,
  ): Partial<StatusObject> | 'stall' | undefined => {
    const incoming: Delivered[] = [];
    for (const book of books) {
      const account = uuidFromBytes(book.cover?.root?.value ?? new Uint8Array(16));
      for (const page of book.pages) {
        const event = page.Event && decodeEvent(page.Event);
        if (options.stall?.(account, page, event)) {
          stalled += 1;
          return 'stall';
        }
        const reason = options.refuse?.(account, page, event);
        if (reason !== undefined) {
          refused += 1;
          return { code: status.INTERNAL, details: reason };
        }
        incoming.push({
          account,
          sequence: page.num!,
          event,
          replay: call.replay,
          call: calls.indexOf(call),
        });
      }
    }
    delivered.push(...incoming);
    call.keys = incoming.map(({ account, sequence }) => `${account}#${sequence}`);
    return undefined;
  };
  /** Records the call, and answers it after the projector's delay with what accept() makes of it. */
  const serve = (
    method: RecordedCall['method'],
    books: readonly EventBook[],
    metadata: Metadata,
    peer: string,
    answer: (error: Partial<StatusObject> | undefined) => void,
  ): void => {
    const call: RecordedCall = {
      method,
      events: books.reduce((n, book) => n + book.pages.length, 0),
      replay: replayed(metadata),
      keys: [],
      startedAt: Date.now(),
      answeredAt: undefined,
      peer,
    };
    calls.push(call);
    const finish = (): void => {
      const error = accept(books, call);
      if (error === 'stall') return;
      call.answeredAt = Date.now();
      answer(error);
    };
    if (projector.delayMs > 0 && method !== 'handleSync') setTimeout(finish, projector.delayMs);
    else finish();
  };
  const implementation: ProjectorServer = {
    handle(call, callback) {
      serve('handle', [call.request], call.metadata, call.getPeer(), (error) => callback(error ?? null, {}));
    },
    handleBatch(call, callback) {
      if (options.handleBatch === false) {
        callback({ code: status.UNIMPLEMENTED, details: 'this projector has no HandleBatch' });
        return;
      }
      serve('handleBatch', call.request.books, call.metadata, call.getPeer(), (error) =>
        callback(error ?? null, {}),
      );
    },
    handleSync(call, callback) {
      serve('handleSync', [call.request], call.metadata, call.getPeer(), (error) => {
        if (error) callback(error);
        else
          callback(null, {
            cover: call.request.cover,
            projector: 'recording',
            sequence: 0,
            projection: undefined,
          });
      });
    },
    reset(_call, callback) {
      if (projector.failReset !== undefined) {
        callback({ code: status.INTERNAL, details: projector.failReset });
        return;
      }
      resets += 1;
      resetAt.push(calls.length);
      callback(null, {});
    },
  };
  let server = new Server();
  server.addService(ProjectorService, implementation);
  const address = await listen(server, 0, options.credentials);
  const projector: RecordingProjector = {
    address,
    delivered,
    calls,
    delayMs: options.delayMs ?? 0,
    failReset: undefined,
    get refused() {
      return refused;
    },
    get resets() {
      return resets;
    },
    resetAt,
    get stalled() {
      return stalled;
    },
    sequences() {
      const result: Record<string, number[]> = {};
      for (const { account, sequence } of delivered) (result[account] ??= []).push(sequence);
      return result;
    },
    duplicates() {
      const seen = new Set<string>();
      const twice: string[] = [];
      for (const { account, sequence } of delivered) {
        const key = `${account}#${sequence}`;
        if (seen.has(key)) twice.push(key);
        seen.add(key);
      }
      return twice;
    },
    accounts() {
      const accounts: Record<string, AccountView> = {};
      for (const { account, sequence, event } of delivered) {
        const view = accounts[account] ?? { ...initialAccount, sequence: -1 };
        accounts[account] = { ...(event ? evolve(view, event) : view), sequence };
      }
      return accounts;
    },
    stop() {
      server.forceShutdown();
      servers.delete(server);
    },
    async restart() {
      server = new Server();
      server.addService(ProjectorService, implementation);
      await listen(server, Number(address.split(':')[1]));
    },
  };
  return projector;
};

export interface TransfersSaga {
  address: string;
  /** "account#sequence" of every MoneyTransferredOut the saga reacted to (once per time it was given it). */
  readonly reacted: string[];
  /** "account#sequence" of every event it was given (each time), and whether its call was marked as a replay. */
  readonly reactions: { key: string; replay: boolean }[];
  /** While set, the saga answers UNAVAILABLE for transfers to this account id (as if it were restarting). */
  unavailableFor: string | undefined;
  /** Stops serving (as if the saga were down); restart() serves again on the same address. */
  stop(): void;
  restart(): Promise<void>;
}

/**
 * The transfers saga (like templates/typescript/src/saga.ts: MoneyTransferredOut → ReceiveTransfer to the
 * receiving account) served in the test process, noting each input it reacts to.
 */
export const startTransfersSaga = async (): Promise<TransfersSaga> => {
  let server = new Server();
  const saga: TransfersSaga = {
    address: '',
    reacted: [],
    reactions: [],
    unavailableFor: undefined,
    stop() {
      server.forceShutdown();
      servers.delete(server);
    },
    async restart() {
      server = new Server();
      server.addService(SagaService, implementation);
      await listen(server, Number(saga.address.split(':')[1]));
    },
  };
  const implementation: SagaServer = {
    handle: (_call, callback) => callback(null, {}),
    handleSync(call, callback) {
      const book = call.request;
      const from = uuidFromBytes(book.cover?.root?.value ?? new Uint8Array(16));
      const commands: CommandBook[] = [];
      const reactions: TransfersSaga['reactions'] = [];
      for (const page of book.pages) {
        reactions.push({ key: `${from}#${page.num}`, replay: replayed(call.metadata) });
        const event = page.Event && decodeEvent(page.Event);
        if (event?.type !== 'MoneyTransferredOut') continue;
        if (event.toAccount === saga.unavailableFor) {
          callback({ code: status.UNAVAILABLE, details: 'the saga is restarting' });
          return;
        }
        saga.reacted.push(`${from}#${page.num}`);
        const command = encodeCommand({ type: 'ReceiveTransfer', fromAccount: from, amount: event.amount });
        commands.push({
          cover: { domain: 'account', root: { value: uuidToBytes(event.toAccount)! } },
          pages: [{ sequence: 0, synchronous: false, command }],
        });
      }
      saga.reactions.push(...reactions);
      callback(null, { books: [], projections: [], commands });
    },
  };
  server.addService(SagaService, implementation);
  saga.address = await listen(server);
  return saga;
};

/** The sample projector (templates/typescript/src/projector.ts) on `port`, so that it can be restarted there. */
export const startSampleProjectorOn = async (
  readModel: string,
  port: number,
): Promise<{ address: string; process: TestProcess }> => {
  const process = startProcess(
    globalThis.process.execPath,
    ['--import', 'tsx', 'src/projector.ts', '--port', String(port)],
    { cwd: typescriptTemplate, env: { READ_MODEL: readModel } },
  );
  const [, address] = await process.waitFor(/listening on (\S+)/);
  return { address: address!, process };
};

/** True when `sequences` is 0, 1, 2, … n-1: strictly increasing, without a gap. */
export const isContiguousFromZero = (sequences: readonly number[]): boolean =>
  sequences.every((sequence, index) => sequence === index);

/** Deletes an exchange and the queues of the subscribers that used it. */
export const deleteAmqpTopology = async (
  url: string,
  exchange: string,
  subscribers: readonly string[],
): Promise<void> => {
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    await channel.deleteExchange(exchange);
    for (const subscriber of subscribers) {
      // Its queue of each partition (topology.ts), and the one queue of versions before partitions.
      for (let partition = 0; partition < 16; partition += 1) {
        await channel.deleteQueue(`${exchange}.${subscriber}.${partition}`);
      }
      await channel.deleteQueue(`${exchange}.${subscriber}`);
    }
    await channel.close();
  } finally {
    await connection.close();
  }
};

export interface DepositLoad {
  /** "account#sequence" of every event a command response acknowledged. */
  readonly acknowledged: string[];
  /** The errors of commands that failed (the runtime was down, …). */
  readonly failures: unknown[];
  /** Stops sending; resolves when the commands in flight have answered. */
  stop(): Promise<void>;
}

/**
 * `workers` clients that each keep sending Deposit commands, round the accounts, through `client()` (read before
 * every command, so that a test can point the load at a restarted runtime), until stop().
 */
export const startDeposits = (options: {
  accounts: readonly Uint8Array[];
  client: () => CommandClient;
  workers: number;
  /** Every this many commands, a worker transfers 1 cent to the next account instead (for a saga to carry). */
  transferEvery?: number;
}): DepositLoad => {
  const acknowledged: string[] = [];
  const failures: unknown[] = [];
  let sending = true;
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; sending; n += 1) {
      const index = (w * 7 + n) % options.accounts.length;
      const root = options.accounts[index]!;
      const to = options.accounts[(index + 1) % options.accounts.length]!;
      const transfers = options.transferEvery !== undefined && n % options.transferEvery === 0;
      const what: AccountCommand = transfers
        ? { type: 'TransferMoney', toAccount: uuidFromBytes(to), amount: 1 }
        : deposit(1 + ((w + n) % 50));
      try {
        const response = await options.client().handle(command(root, what), 10_000);
        for (const book of response.books) {
          for (const page of book.pages) acknowledged.push(`${uuidFromBytes(root)}#${page.num}`);
        }
      } catch (error) {
        failures.push(error);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  const running = Array.from({ length: options.workers }, (_, w) => worker(w));
  return {
    acknowledged,
    failures,
    async stop() {
      sending = false;
      await Promise.all(running);
    },
  };
};
