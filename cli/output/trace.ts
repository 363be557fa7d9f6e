import type {
  Cover,
  TracedCommand,
  TracedDelivery,
  TracedEvent,
  TraceTree,
} from '../../runtime/protocol/gen/evented/evented.js';
import type { Timestamp } from '../../runtime/protocol/gen/google/protobuf/timestamp.js';
import { timestampToIso } from '../../runtime/protocol/timestamp.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';

/**
 * `evented trace` output: the tree indented, one line per command, event and subscriber, times after the event's
 * commit (`+12 ms`), dead letters marked; and the same tree as plain JSON (aggregates and times as text).
 */

const INDENT = '  ';

/** "account.v1.Deposit" from "type.googleapis.com/account.v1.Deposit". */
const shortType = (typeUrl: string): string =>
  typeUrl ? typeUrl.slice(typeUrl.lastIndexOf('/') + 1) : '(none)';
const aggregateOf = (cover: Cover | undefined): string =>
  cover?.root?.value?.length === 16
    ? `${cover.domain}/${uuidFromBytes(cover.root.value)}`
    : (cover?.domain ?? '');
/** The time of day, to the millisecond (UTC): the date is on the first line. */
const timeOf = (ts: Timestamp | undefined): string => (ts ? timestampToIso(ts).slice(11, 23) : '');

const MARKS: Record<string, string> = {
  applied: '✓',
  handled: '✓',
  retried: '✓',
  pending: '…',
  'dead-lettered': '✗',
  skipped: '✗',
};

const describeDelivery = (delivery: TracedDelivery): string => {
  const who = `${MARKS[delivery.state] ?? '?'} ${delivery.kind} ${delivery.subscriber}`;
  const timing = delivery.appliedAt ? ` +${delivery.msAfterCommit} ms (call ${delivery.tookMs} ms)` : '';
  switch (delivery.state) {
    case 'applied':
      return `${who}: applied${timing}`;
    case 'handled':
      return `${who}: handled (no call logged)`;
    case 'pending':
      return `${who}: pending`;
    case 'dead-lettered':
      return `${who}: DEAD LETTER #${delivery.deadLetterId}: ${delivery.error}`;
    case 'retried':
      return `${who}: dead letter #${delivery.deadLetterId} retried${timing}`;
    case 'skipped':
      return `${who}: dead letter #${delivery.deadLetterId} SKIPPED: ${delivery.error}`;
    default:
      return `${who}: ${delivery.state}`;
  }
};

const describeCommand = (command: TracedCommand): string => {
  const what = command.commandType ? `command ${shortType(command.commandType)}` : 'record';
  const by = command.saga ? ` (saga ${command.saga})` : '';
  return `${what} → ${aggregateOf(command.cover)}${by}  ${timeOf(command.at)}  id ${command.commandId || '?'}`;
};

const describeEvent = (event: TracedEvent): string =>
  `#${event.position} ${shortType(event.type)} (seq ${event.sequence})  ${timeOf(event.committedAt)}`;

const commandLines = (command: TracedCommand, depth: number): string[] => [
  INDENT.repeat(depth) + describeCommand(command),
  ...command.events.flatMap((event) => [
    INDENT.repeat(depth + 1) + describeEvent(event),
    ...event.deliveries.flatMap((delivery) => [
      INDENT.repeat(depth + 2) + describeDelivery(delivery),
      ...delivery.commands.flatMap((next) => commandLines(next, depth + 3)),
    ]),
  ]),
];

export const formatTrace = (tree: TraceTree): string => {
  const first = tree.commands[0]?.at;
  const date = first ? ` on ${timestampToIso(first).slice(0, 10)} (UTC)` : '';
  const cut = tree.truncated ? ` — cut at ${tree.events} events: more are not shown` : '';
  const lines = [
    `correlation ${tree.correlationId}: ${tree.events} event${tree.events === 1 ? '' : 's'}${date}${cut}`,
    ...tree.commands.flatMap((command) => commandLines(command, 0)),
  ];
  return `${lines.join('\n')}\n`;
};
