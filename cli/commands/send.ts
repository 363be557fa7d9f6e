import type { Command } from 'commander';
import type { JsonValue } from '@bufbuild/protobuf';
import type {
  CommandBook,
  SynchronousProcessingResponse,
} from '../../runtime/protocol/gen/evented/evented.js';
import { randomUuidBytes, uuidFromBytes, uuidToBytes } from '../../runtime/protocol/uuid.js';
import type { CliContext } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import type { PayloadTypes } from '../protos/payloads.js';
import { projectDirOf, withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';
import { describeEvent, viewOf } from './tail.js';

/**
 * `evented send <domain> <root|new> <Type> <json>`: one command through the runtime's command handler, built
 * from JSON with the project's .proto files; prints the events it produced (and what synchronous projectors and
 * sagas answered).
 */

interface SendOptions extends RemoteOptions {
  sync?: boolean;
  json?: boolean;
  timeout: string;
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

const report = (root: string, response: SynchronousProcessingResponse, types: PayloadTypes): string => {
  const events = response.books.flatMap((book) =>
    book.pages.map((page) => describeEvent(viewOf({ position: 0, cover: book.cover, page }, types))),
  );
  const lines = [`accepted; aggregate ${root}: ${events.length} event${events.length === 1 ? '' : 's'}`];
  lines.push(...events.map((line) => `  ${line}`));
  for (const projection of response.projections) {
    lines.push(`  projection ${projection.projector} at sequence ${projection.sequence}`);
  }
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
        const timeoutMs = Number(options.timeout);
        if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
          throw new UsageError(`--timeout ${options.timeout}: expected milliseconds, such as 10000`);
        }
        const response = await withAdmin(context, options, async (admin) => {
          const address =
            admin.location.commandHandler ??
            (await admin.status()).components.find((c) => c.name === 'command handler')?.address;
          if (!address) throw new CliError('the runtime did not say where its command handler is');
          const { handleCommand } = await import('../remote/command-client.js');
          return handleCommand(address, book, timeoutMs);
        });
        const rootId = uuidFromBytes(root);
        if (options.json) {
          const events = response.books.flatMap((b) =>
            b.pages.map((page) => viewOf({ position: 0, cover: b.cover, page }, types)),
          );
          context.stdout.write(
            `${JSON.stringify({ root: rootId, events, projections: response.projections })}\n`,
          );
        } else context.stdout.write(report(rootId, response, types));
      },
    );
};
