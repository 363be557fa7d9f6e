// The main job on the embedded defaults, end to end: the sample business logic (templates/typescript) and
// `evented serve` run as separate processes, exactly as a user's would; we send commands over gRPC and print
// the events the store holds. Run with `npm run demo`.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { execa, type ResultPromise } from 'execa';
import {
  BusinessCoordinatorClient,
  EventQueryClient,
  type CommandBook,
  type EventBook,
  type SynchronousProcessingResponse,
} from '../runtime/protocol/gen/evented/evented.js';
import { randomUuidBytes, uuidFromBytes } from '../runtime/protocol/uuid.js';
import { timestampToIso } from '../runtime/protocol/timestamp.js';
import { decodeEvent, encodeCommand } from '../templates/typescript/src/codec.js';
import type { AccountCommand } from '../templates/typescript/src/domain.js';
import { freePort } from '../runtime/support/net.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const children: ResultPromise[] = [];

const start = async (file: string, args: string[], cwd: string, ready: RegExp): Promise<string> => {
  const child = execa(file, args, { cwd, all: true, buffer: false, reject: false });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    child.all!.setEncoding('utf8');
    child.all!.on('data', (chunk: string) => {
      output += chunk;
      const match = output.match(ready);
      if (match) resolve(match[0]);
    });
    void child.then(() => reject(new Error(`${args.join(' ')} exited early:\n${output}`)));
  });
};

const main = async (): Promise<void> => {
  const project = mkdtempSync(join(tmpdir(), 'evented-demo-'));
  try {
    const [logicPort, commandPort, queryPort] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(
      join(project, 'evented.yaml'),
      [
        'name: bank-demo',
        `commandHandler: { port: ${commandPort} }`,
        `queryHandler: { port: ${queryPort} }`,
        'log: { level: warn }',
        'domains:',
        `  account: { businessLogic: 127.0.0.1:${logicPort} }`,
        '',
      ].join('\n'),
    );
    console.log(
      await start(
        process.execPath,
        ['--import', 'tsx', 'src/business-logic.ts', '--port', String(logicPort)],
        join(root, 'templates/typescript'),
        /.*listening on \S+/,
      ),
    );
    console.log(
      await start(
        process.execPath,
        [join(root, 'bin/evented.js'), 'serve', project],
        root,
        /evented serving .*/,
      ),
    );

    const commands = new BusinessCoordinatorClient(`127.0.0.1:${commandPort}`, credentials.createInsecure());
    const queries = new EventQueryClient(`127.0.0.1:${queryPort}`, credentials.createInsecure());
    const account = randomUuidBytes();
    const send = (command: AccountCommand): Promise<SynchronousProcessingResponse> => {
      const book: CommandBook = {
        cover: { domain: 'account', root: { value: account } },
        pages: [{ sequence: 0, synchronous: false, command: encodeCommand(command) }],
      };
      return new Promise((resolve, reject) =>
        commands.handle(book, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) =>
          err ? reject(err) : resolve(res),
        ),
      );
    };

    console.log(`\naccount ${uuidFromBytes(account)}:`);
    const script: AccountCommand[] = [
      { type: 'OpenAccount', owner: 'Ada Lovelace' },
      { type: 'Deposit', amount: 10_000 },
      { type: 'Withdraw', amount: 2_500 },
      { type: 'Withdraw', amount: 50_000 },
      { type: 'Deposit', amount: 1_250 },
    ];
    for (const command of script) {
      const { type, ...fields } = command;
      try {
        const response = await send(command);
        const stored = response.books[0]?.pages.map((p) => p.num).join(', ');
        console.log(`  ✓ ${type} ${JSON.stringify(fields)} → stored as event ${stored}`);
      } catch (err) {
        console.log(`  ✗ ${type} ${JSON.stringify(fields)} → refused: ${(err as ServiceError).details}`);
      }
    }

    const books = await new Promise<EventBook[]>((resolve, reject) => {
      const found: EventBook[] = [];
      const stream = queries.getEvents({
        domain: 'account',
        root: { value: account },
        lowerBound: 0,
        upperBound: 0,
      });
      stream.on('data', (book: EventBook) => found.push(book));
      stream.on('error', reject);
      stream.on('end', () => resolve(found));
    });
    console.log('\nevents in the store (EventQuery.GetEvents):');
    for (const page of books.flatMap((book) => book.pages)) {
      const { type, ...fields } = decodeEvent(page.Event!)!;
      console.log(
        `  #${page.num}  ${timestampToIso(page.createdAt!)}  ${type.padEnd(15)} ${JSON.stringify(fields)}`,
      );
    }
    commands.close();
    queries.close();
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.allSettled(children);
    rmSync(project, { recursive: true, force: true });
  }
};

main().then(
  () => console.log('\ndemo finished: the runtime and the business logic have stopped.'),
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
