import type { Command } from 'commander';
import type { RuntimeStatus } from '../../runtime/protocol/gen/evented/evented.js';
import type { CliContext } from '../context.js';
import { CliError } from '../errors.js';
import { projectDirOf, withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';
import { formatInstances, localInstances } from '../local/instances.js';
import { formatTable } from '../output/table.js';
import { describeProcessId } from '../../runtime/support/process-id.js';
import { formatRanges } from '../../runtime/support/ranges.js';

/**
 * `evented status`: every component of a running runtime, its address and health, and each projector's and
 * saga's position and lag. Exits 1 when something is not healthy, so that scripts can wait on it.
 */

interface StatusOptions extends RemoteOptions {
  json?: boolean;
}

const HEALTHY_SUBSCRIBER_STATES = new Set(['live', 'catching-up', 'replaying', 'paused', 'standby']);

/** A relay standing by while another process holds the store's relay lease is as it should be. */
const isHealthy = (component: RuntimeStatus['components'][number]): boolean =>
  component.state === 'ok' || (component.name === 'relay' && component.state === 'standby');

/** What is not healthy, one phrase each. */
export const problemsOf = (status: RuntimeStatus): string[] => [
  ...status.components
    .filter((component) => !isHealthy(component))
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

/**
 * Which process holds which of a subscriber's partitions (as the store's claims say): `pid@host 0-5; …`, the
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
        `${describeProcessId(process)}${process === status.processId ? ' (this)' : ''} ${formatRanges(partitions)}`,
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

/**
 * Whether this process's relay publishes (`relay: active (this process)`) or stands by while another holds the
 * store's relay lease (`relay: standby (held by PID@HOST, since TIME)`): the start of the relay's detail. Empty
 * without a relay in this process, or from a runtime without leases.
 */
const relayLine = (status: RuntimeStatus): string => {
  const relay = status.components.find((component) => component.name === 'relay');
  if (relay?.kind !== 'lease') return '';
  return `relay: ${relay.detail.split('; ')[0]}\n`;
};

/** Where the web console is, when the process answering serves it. */
const consoleLine = (status: RuntimeStatus): string =>
  status.consoleUrl ? `console: ${status.consoleUrl}\n` : '';

export const formatStatus = (status: RuntimeStatus): string => {
  const components = formatTable(
    ['COMPONENT', 'KIND', 'ADDRESS', 'STATE', 'DETAIL'],
    status.components.map((c) => [c.name, c.kind, c.address, c.state, c.detail]),
  );
  const subscribers = subscribersSection(status);
  const version = status.version ? ` (evented ${status.version})` : '';
  return `${status.name}${version}: store head at position ${status.head}\n${rolesLine(status)}${relayLine(status)}${consoleLine(status)}\n${components}\n\n${subscribers}\n`;
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
      // `evented up --instances N`: every instance, from its runtime.json (the admin answers for its own process).
      const instances = options.address === undefined ? localInstances(projectDirOf(context, options)) : [];
      if (options.json) {
        context.stdout.write(
          `${JSON.stringify(instances.length > 0 ? { ...status, instances } : status, null, 2)}\n`,
        );
      } else {
        context.stdout.write(formatStatus(status));
        if (instances.length > 0) context.stdout.write(`\n${formatInstances(instances)}\n`);
      }
      const problems = [
        ...problemsOf(status),
        ...instances.filter((it) => !it.running).map((it) => `${it.name} is not running`),
      ];
      if (problems.length > 0) {
        throw new CliError(
          `not healthy: ${problems.join('; ')}`,
          'see the table above; `evented up` logs are in .evented/logs/',
        );
      }
    });
};
