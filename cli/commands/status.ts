import type { Command } from 'commander';
import type { RuntimeStatus } from '../../runtime/protocol/gen/evented/evented.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';
import { formatTable } from '../output/table.js';

/**
 * `evented status`: every component of a running runtime, its address and health, and each projector's and
 * saga's position and lag. Exits 1 when something is not healthy, so that scripts can wait on it.
 */

interface StatusOptions extends RemoteOptions {
  json?: boolean;
}

/** `standby`: running, with none of the subscriber's partitions in this process (others deliver them). */
const HEALTHY_SUBSCRIBER_STATES = new Set(['live', 'catching-up', 'replaying', 'standby']);

/** What is not healthy, one phrase each. */
export const problemsOf = (status: RuntimeStatus): string[] => [
  ...status.components
    .filter((component) => component.state !== 'ok')
    .map((component) => `${component.name} is ${component.state}`),
  ...status.subscribers
    .filter((subscriber) => !HEALTHY_SUBSCRIBER_STATES.has(subscriber.state))
    .map((subscriber) => `${subscriber.kind} ${subscriber.name} is ${subscriber.state}`),
];

/**
 * Where a subscriber is: its checkpoint, and "+N" for the events after it already delivered (a batch in
 * progress moves the checkpoint only when all of it is done).
 */
const position = (subscriber: RuntimeStatus['subscribers'][number]): string =>
  subscriber.deliveredPastCheckpoint > 0
    ? `${subscriber.checkpoint} +${subscriber.deliveredPastCheckpoint}`
    : String(subscriber.checkpoint);

/** Partition numbers as ranges: 0-5,9,12-13. */
export const formatRanges = (partitions: readonly number[]): string => {
  const sorted = [...partitions].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j += 1;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
};

/**
 * Which process holds which of a subscriber's partitions (as the store's claims say): `host/pid 0-5; …`, the
 * process answering marked "(this)"; "none held" while no process holds any (all claims expired).
 */
const partitionsColumn = (
  status: RuntimeStatus,
  subscriber: RuntimeStatus['subscribers'][number],
): string => {
  if (subscriber.partitionCount === 0) return '';
  if (subscriber.holders.length === 0) return `none of ${subscriber.partitionCount} held`;
  return subscriber.holders
    .map(
      ({ process, partitions }) =>
        `${process}${process === status.processId ? ' (this)' : ''} ${formatRanges(partitions)}`,
    )
    .join('; ');
};

/**
 * The roles of the process answering, when it says (a runtime older than roles held all six). Its components and
 * subscribers are those of its roles.
 */
const rolesLine = (status: RuntimeStatus): string =>
  status.roles.length === 0 ? '' : `roles: ${status.roles.join(', ')}\n`;

/** Which of the projectors and the sagas this process delivers to, and which other processes do. */
const subscriberRoles = (status: RuntimeStatus): { held: string[]; elsewhere: string[] } => {
  const kinds = ['projectors', 'sagas'];
  const holds = (kind: string): boolean => status.roles.length === 0 || status.roles.includes(kind);
  return { held: kinds.filter(holds), elsewhere: kinds.filter((kind) => !holds(kind)) };
};

const subscribersSection = (status: RuntimeStatus): string => {
  const { held, elsewhere } = subscriberRoles(status);
  const table =
    status.subscribers.length > 0
      ? formatTable(
          [
            'SUBSCRIBER',
            'KIND',
            'STATE',
            'POSITION',
            'LAG',
            'DELIVERED',
            'DEAD-LETTERED',
            'PARTITIONS',
            'LAST ERROR',
          ],
          status.subscribers.map((s) => [
            s.name,
            s.kind,
            s.state,
            position(s),
            String(s.lag),
            String(s.delivered),
            String(s.deadLettered),
            partitionsColumn(status, s),
            s.lastError,
          ]),
        )
      : held.length > 0
        ? `No ${held.join(' or ')} are configured.`
        : '';
  const note = elsewhere.length > 0 ? `The ${elsewhere.join(' and ')} run in other processes.` : '';
  return [table, note].filter((part) => part !== '').join('\n');
};

export const formatStatus = (status: RuntimeStatus): string => {
  const components = formatTable(
    ['COMPONENT', 'KIND', 'ADDRESS', 'STATE', 'DETAIL'],
    status.components.map((c) => [c.name, c.kind, c.address, c.state, c.detail]),
  );
  const subscribers = subscribersSection(status);
  const version = status.version ? ` (evented ${status.version})` : '';
  return `${status.name}${version}: store head at position ${status.head}\n${rolesLine(status)}\n${components}\n\n${subscribers}\n`;
};

export const registerStatus = (program: Command, context: CliContext): void => {
  withRemoteOptions(
    program
      .command('status')
      .description(
        "show a running runtime's components, their addresses and health, and each projector's position and lag",
      ),
  )
    .option('--json', 'print the status as one JSON document')
    .addHelpText(
      'after',
      '\nExit status: 0 when everything is healthy, 1 otherwise.\n\nExamples:\n  evented status\n  evented status --address 10.0.0.5:1316 --json\n',
    )
    .action(async (options: StatusOptions) => {
      const status = await withAdmin(context, options, (admin) => admin.status());
      context.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
      const problems = problemsOf(status);
      if (problems.length > 0) {
        throw new CliError(
          `not healthy: ${problems.join('; ')}`,
          'see the table above; `evented up` logs are in .evented/logs/',
        );
      }
    });
};
