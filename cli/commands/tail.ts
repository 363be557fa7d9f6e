import type { Command } from 'commander';
import type { TailRequest } from '../../runtime/protocol/gen/evented/evented.js';
import { timestampFromDate } from '../../runtime/protocol/timestamp.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import { eventView, type EventView } from '../../runtime/protocol/json-views.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { projectDirOf, withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';
import { parsePosition } from './positions.js';

/**
 * `evented tail events`: stored events, one line each (position, time, domain, root, sequence, type, payload,
 * correlation id), then new ones as they are committed, until Ctrl-C; `--correlation` keeps one piece of work. Payloads are shown as JSON through the project's .proto
 * files, or as type and size when the type is not among them.
 */

interface TailOptions extends RemoteOptions {
  domain?: string;
  root?: string;
  correlation?: string;
  from?: string;
  since?: string;
  last?: string;
  follow: boolean;
  json?: boolean;
}

const DEFAULT_LAST = 20;
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "10m", "2h", "30s", "1d", or an ISO time. */
export const parseSince = (text: string, now = Date.now()): Date => {
  const relative = /^(\d+)([smhd])$/.exec(text);
  if (relative) return new Date(now - Number(relative[1]) * UNITS[relative[2]!]!);
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(
      `--since ${text}: expected a duration such as 30s, 10m, 2h, 1d, or a time such as 2026-11-29T08:00:00Z`,
    );
  }
  return date;
};

const requestOf = (options: TailOptions): TailRequest => {
  if (options.from !== undefined && options.since !== undefined) {
    throw new UsageError('--from and --since both say where to start: give one of them');
  }
  let root: Uint8Array | undefined;
  if (options.root !== undefined) {
    root = uuidToBytes(options.root);
    if (!root) throw new UsageError(`--root ${options.root}: expected a UUID such as 3f2b…-…`);
    if (!options.domain) throw new UsageError('--root names an aggregate only with its domain: add --domain');
  }
  // Like tail(1): without a starting point, the last few stored events, then the new ones. A correlation is one
  // piece of work: all of it.
  const starts =
    options.from !== undefined || options.since !== undefined || options.correlation !== undefined;
  const last = options.last === undefined ? (starts ? 0 : DEFAULT_LAST) : Number(options.last);
  if (!Number.isInteger(last) || last < 0) {
    throw new UsageError(`--last ${options.last}: expected a number of events`);
  }
  return {
    after: options.from === undefined ? 0 : Math.max(parsePosition('--from', options.from) - 1, 0),
    since: options.since === undefined ? undefined : timestampFromDate(parseSince(options.since)),
    domain: options.domain ?? '',
    root: root && { value: root },
    follow: options.follow,
    last,
    correlation: options.correlation ?? '',
    before: 0,
    type: '',
    until: undefined,
  };
};

/** time, aggregate, sequence, type and payload: an event without its place in the log. */
export const describeEvent = (view: EventView): string => {
  const body = view.payload !== undefined ? JSON.stringify(view.payload) : `(${view.size} bytes)`;
  const type = view.type || '(no payload)';
  return `${view.committedAt}  ${view.domain}/${view.root}  #${view.sequence}  ${type} ${body}`;
};

/** The correlation id, last on the line, so the columns before it stay where they were. */
const correlationOf = (view: EventView): string =>
  view.origin?.correlationId ? `  corr=${view.origin.correlationId}` : '';

export const formatEventLine = (view: EventView): string =>
  `${String(view.position).padStart(6)}  ${describeEvent(view)}${correlationOf(view)}`;

export const registerTail = (program: Command, context: CliContext): void => {
  const tail = program.command('tail').description('follow what a running runtime stores');
  withRemoteOptions(
    tail
      .command('events')
      .description('print stored events, one line each, then follow new ones as they are committed'),
  )
    .option('--domain <domain>', 'only events of this domain')
    .option('--root <uuid>', 'only events of this aggregate (with --domain)')
    .option(
      '--correlation <id>',
      'only events of this correlation id (a command and what sagas did about it)',
    )
    .option('--from <position>', 'start at this global position (1: every stored event)')
    .option(
      '--since <duration|time>',
      'start with events stored since then: 30s, 10m, 2h, 1d, or an ISO time',
    )
    .option(
      '--last <n>',
      `start with the last n stored events (default: ${DEFAULT_LAST} without --from/--since/--correlation)`,
    )
    .option('--no-follow', 'stop after the stored events instead of waiting for new ones')
    .option('--json', 'one JSON object per line')
    .addHelpText(
      'after',
      '\nExamples:\n  evented tail events\n  evented tail events --domain account --since 10m\n  evented tail events --from 1200 --no-follow --json | jq .type\n  evented tail events --correlation 5d0c…-… --no-follow\n',
    )
    .action(async (options: TailOptions) => {
      const request = requestOf(options);
      const { loadPayloadTypes } = await import('../protos/payloads.js');
      const types = loadPayloadTypes(projectDirOf(context, options));
      await withAdmin(context, options, async (admin) => {
        for await (const event of admin.tail(request, context.signal)) {
          const view = eventView(event, types);
          context.stdout.write(`${options.json ? JSON.stringify(view) : formatEventLine(view)}\n`);
        }
      });
    });
};
