import type { Command } from 'commander';
import type { JsonValue } from '@bufbuild/protobuf';
import type {
  CommandBook,
  EventBook,
  SynchronousProcessingResponse,
} from '../../runtime/protocol/gen/evented/evented.js';
import type { AdminConnection } from '../remote/admin-client.js';
import { randomUuidBytes, timeOrderedUuid, uuidFromBytes, uuidToBytes } from '../../runtime/protocol/uuid.js';
import { originValueProblem } from '../../runtime/protocol/origin-metadata.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import type { PayloadTypes } from '../protos/payloads.js';
import { projectDirOf, withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';
import { describeEvent } from './tail.js';
import { eventView } from '../../runtime/protocol/json-views.js';

/**
 * `evented send <domain> <root|new> <Type> <json>`: one command through the runtime's command handler, built
 * from JSON with the project's .proto files; prints the events it produced (and what synchronous projectors and
 * sagas answered) and its correlation id (`--correlation-id`, or a new UUID), by which `evented tail events
 * --correlation` finds what it and the sagas it set off stored.
 */

interface SendOptions extends RemoteOptions {
  sync?: boolean;
  json?: boolean;
  timeout: string;
  correlationId?: string;
}

const parseJson = (text: string): JsonValue => {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new UsageError(
      `the command's JSON does not parse: ${(err as Error).message}`,
      `quote it for the shell, for example '{"amount": 100}'`,
    );
  }
};

const rootOf = (text: string): Uint8Array => {
  if (text === 'new') return randomUuidBytes();
  const root = uuidToBytes(text);
  if (!root) throw new UsageError(`${text}: expected an aggregate's UUID, or \`new\` for a new aggregate`);
  return root;
};

const correlationOf = (options: SendOptions): string => {
  if (options.correlationId === undefined) return timeOrderedUuid();
  const problem = originValueProblem(options.correlationId);
  if (problem !== undefined) throw new UsageError(`--correlation-id ${problem}`);
  return options.correlationId;
};

const eventKey = (domain: string, root: string, sequence: number): string => `${domain}/${root}#${sequence}`;

/**
 * Where the events of `books` landed in the store's global log. The command's answer carries each event's
 * aggregate and sequence, not its position: asked from the log (Tail of each aggregate, its latest events
 * first; all of them if other commands on it came in between).
 */
const positionsOf = async (
  admin: AdminConnection,
  books: readonly EventBook[],
  signal: AbortSignal,
): Promise<Map<string, number>> => {
  const positions = new Map<string, number>();
  for (const book of books) {
    const domain = book.cover?.domain ?? '';
    const root = book.cover?.root;
    const rootId = uuidFromBytes(root?.value ?? new Uint8Array(16));
    const wanted = book.pages.map((page) => eventKey(domain, rootId, page.num ?? 0));
    for (const last of [book.pages.length + 64, 0]) {
      const request = {
        ...{ after: 0, since: undefined, domain, root, follow: false, last, correlation: '' },
        ...{ before: 0, type: '', until: undefined },
      };
      for await (const event of admin.tail(request, signal)) {
        positions.set(eventKey(domain, rootId, event.page?.num ?? 0), event.position);
      }
      if (wanted.every((key) => positions.has(key))) break;
    }
    const missing = wanted.find((key) => !positions.has(key));
    if (missing) throw new CliError(`the command was accepted, but its event ${missing} is not in the log`);
  }
  return positions;
};

const report = (
  root: string,
  correlationId: string,
  response: SynchronousProcessingResponse,
  types: PayloadTypes,
): string => {
  const events = response.books.flatMap((book) =>
    book.pages.map((page) => describeEvent(eventView({ position: 0, cover: book.cover, page }, types))),
  );
  const lines = [`accepted; aggregate ${root}: ${events.length} event${events.length === 1 ? '' : 's'}`];
  lines.push(...events.map((line) => `  ${line}`));
  for (const projection of response.projections) {
    lines.push(`  projection ${projection.projector} at sequence ${projection.sequence}`);
  }
  lines.push(`correlation ${correlationId}`);
  return `${lines.join('\n')}\n`;
};

export const registerSend = (program: Command, context: CliContext): void => {
  withRemoteOptions(
    program
      .command('send')
      .description('send one command to a running runtime and print the events it produced')
      .argument('<domain>', 'the aggregate’s domain')
      .argument('<root>', 'the aggregate’s UUID, or `new` for a new aggregate')
      .argument('<type>', 'the command’s message type, short (Deposit) or full (account.v1.Deposit)')
      .argument('<json>', 'the command as JSON (proto3 JSON mapping)'),
  )
    .option('--sync', 'mark the command synchronous: synchronous projectors and sagas answer inside the call')
    .option('--timeout <ms>', 'how long to wait for the answer', '10000')
    .option('--json', 'print the response as JSON')
    .option('--correlation-id <id>', 'the correlation id to store with its events (default: a new UUID)')
    .addHelpText(
      'after',
      `\nExamples:\n  evented send account new OpenAccount '{"owner": "ada"}'\n  evented send account 3f2b5c1e-0000-4000-8000-000000000001 Deposit '{"amount": 100}'\n`,
    )
    .action(
      async (domain: string, rootText: string, type: string, jsonText: string, options: SendOptions) => {
        const { loadPayloadTypes } = await import('../protos/payloads.js');
        const types = loadPayloadTypes(projectDirOf(context, options));
        const typeName = types.resolve(type);
        const command = types.encode(typeName, parseJson(jsonText));
        const root = rootOf(rootText);
        const book: CommandBook = {
          cover: { domain, root: { value: root } },
          pages: [{ sequence: 0, synchronous: options.sync === true, command }],
        };
        const correlationId = correlationOf(options);
        const timeoutMs = Number(options.timeout);
        if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
          throw new UsageError(`--timeout ${options.timeout}: expected milliseconds, such as 10000`);
        }
        const { response, positions } = await withAdmin(context, options, async (admin) => {
          const address =
            admin.location.commandHandler ??
            (await admin.status()).components.find((c) => c.name === 'command handler')?.address;
          if (!address) throw new CliError('the runtime did not say where its command handler is');
          const { handleCommand } = await import('../remote/command-client.js');
          const answer = await handleCommand(address, book, timeoutMs, admin.security.tls, correlationId);
          return {
            response: answer,
            positions: options.json ? await positionsOf(admin, answer.books, context.signal) : undefined,
          };
        });
        const rootId = uuidFromBytes(root);
        // What the runtime stored (the one sent, unless a runtime from before correlation ids ignored it).
        const storedCorrelation = response.books[0]?.pages[0]?.origin?.correlationId || correlationId;
        if (positions) {
          const events = response.books.flatMap((b) => {
            const id = uuidFromBytes(b.cover?.root?.value ?? new Uint8Array(16));
            return b.pages.map((page) => {
              const position = positions.get(eventKey(b.cover?.domain ?? '', id, page.num ?? 0))!;
              return eventView({ position, cover: b.cover, page }, types);
            });
          });
          context.stdout.write(
            `${JSON.stringify({ root: rootId, correlationId: storedCorrelation, events, projections: response.projections })}\n`,
          );
        } else context.stdout.write(report(rootId, storedCorrelation, response, types));
      },
    );
};
