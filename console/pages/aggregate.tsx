/**
 * Aggregate: one aggregate's events in sequence order, the snapshot marked (the events folded into it dimmed),
 * each payload, and the commands that produced them (from their origin); it follows the aggregate's new events.
 */
import type { AggregateView, CommandView, EventView } from '../../runtime/console/api.js';
import { clock, dateTime, shortId, shortType, typeName } from '../format.js';
import { useRead, useStream } from '../hooks.js';
import { ErrorBox } from '../parts/error-box.js';
import { LiveMark } from '../parts/live-mark.js';
import { Payload } from '../parts/payload.js';
import { links } from '../router.js';

const path = (domain: string, root: string) =>
  `/api/aggregates/${encodeURIComponent(domain)}/${encodeURIComponent(root)}`;

export const AggregatePage = ({ domain, root }: { domain: string; root: string }) => {
  const valid = domain !== '' && root !== '';
  const read = useRead<AggregateView>(valid ? path(domain, root) : undefined);
  // Followed once read: an aggregate the server refuses has nothing to follow.
  const stream = useStream(
    read.data
      ? `/api/events/stream?domain=${encodeURIComponent(domain)}&root=${encodeURIComponent(root)}`
      : undefined,
    'event',
    read.reload,
  );
  if (!valid) {
    return (
      <ErrorBox
        error={{
          error: 'no aggregate named: the address is #/aggregates/DOMAIN/ROOT',
          hint: 'open one from the Events page (its aggregate column)',
        }}
      />
    );
  }
  const view = read.data;
  const commandOf = new Map<number, CommandView>();
  for (const command of view?.commands ?? []) for (const s of command.sequences) commandOf.set(s, command);
  return (
    <section data-testid="aggregate-page">
      <div class="heading">
        <h1>
          Aggregate <code>{domain}</code>/<code data-testid="aggregate-root">{root}</code>
        </h1>
        <LiveMark state={stream.state} />
        <a href={links.events({ domain, root })}>in the event log</a>
      </div>
      <ErrorBox error={stream.error} />
      <ErrorBox error={read.error} />
      {view?.snapshot && (
        <div class="panel" data-testid="aggregate-snapshot">
          <span class="badge busy">snapshot</span> at sequence {view.snapshot.sequence} (
          <span title={typeName(view.snapshot.type)}>{shortType(view.snapshot.type)}</span>):{' '}
          <Payload payload={view.snapshot.payload} size={0} />
        </div>
      )}
      {view && (
        <>
          <h2>Events ({view.events.length})</h2>
          <table class="grid" data-testid="aggregate-events">
            <thead>
              <tr>
                <th>seq</th>
                <th class="num">#</th>
                <th>committed</th>
                <th>type</th>
                <th>command</th>
                <th>payload</th>
              </tr>
            </thead>
            <tbody>
              {view.events.map((event) => (
                <AggregateEventRow
                  key={event.sequence}
                  event={event}
                  command={commandOf.get(event.sequence)}
                  snapshot={view.snapshot?.sequence}
                />
              ))}
            </tbody>
          </table>
          <h2>Commands ({view.commands.length})</h2>
          <table class="grid" data-testid="aggregate-commands">
            <thead>
              <tr>
                <th>command</th>
                <th>id</th>
                <th>correlation</th>
                <th>caused by</th>
                <th class="num">events</th>
              </tr>
            </thead>
            <tbody>
              {view.commands.map((command) => (
                <CommandRow key={command.commandId} command={command} />
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
};

const AggregateEventRow = ({
  event,
  command,
  snapshot,
}: {
  event: EventView;
  command: CommandView | undefined;
  snapshot: number | undefined;
}) => {
  const folded = snapshot !== undefined && event.sequence < snapshot;
  return (
    <tr class={folded ? 'folded' : undefined} data-testid="aggregate-event" data-sequence={event.sequence}>
      <td>
        <code>{event.sequence}</code>
        {snapshot === event.sequence && (
          <span class="badge busy" title="the snapshot was taken here" data-testid="snapshot-mark">
            snapshot
          </span>
        )}
      </td>
      <td class="num">{event.position}</td>
      <td title={dateTime(event.committedAt)}>{clock(event.committedAt)}</td>
      <td title={typeName(event.type)}>{shortType(event.type)}</td>
      <td>{command ? shortType(command.commandType) : <span class="muted">—</span>}</td>
      <td>
        <Payload payload={event.payload} size={event.size} />
      </td>
    </tr>
  );
};

const CommandRow = ({ command }: { command: CommandView }) => (
  <tr data-testid="aggregate-command">
    <td title={typeName(command.commandType)}>
      {shortType(command.commandType) || <span class="muted">unknown</span>}
    </td>
    <td title={command.commandId}>
      <code>{shortId(command.commandId)}</code>
    </td>
    <td>
      {command.correlationId ? (
        <a href={links.trace(command.correlationId)} title={command.correlationId}>
          {shortId(command.correlationId)}
        </a>
      ) : (
        <span class="muted">—</span>
      )}
    </td>
    <td>
      {command.causationId ? (
        <CausedBy causationId={command.causationId} saga={command.saga} />
      ) : (
        <span class="muted">a client</span>
      )}
    </td>
    <td class="num">{command.sequences.join(', ')}</td>
  </tr>
);

/** "saga transfers on account/…/2", linking to that event's aggregate. */
const CausedBy = ({ causationId, saga }: { causationId: string; saga: string }) => {
  const [domain = '', root = '', sequence = ''] = causationId.split('/');
  return (
    <span title={causationId}>
      {saga ? `saga ${saga} on ` : ''}
      <a href={links.aggregate(domain, root)}>
        {domain}/{shortId(root)}/{sequence}
      </a>
    </span>
  );
};
