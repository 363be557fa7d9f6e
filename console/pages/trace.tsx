/**
 * Trace: the causal tree of a correlation (as `evented trace`): each command, its events, every delivery of them
 * with its state coloured and its timing after the commit, dead letters with their error, and the commands a
 * saga issued, nested under it. The target is a correlation id or an event's DOMAIN/ROOT/SEQ.
 */
import { useEffect, useState } from 'preact/hooks';
import type { TraceView, TracedCommandView } from '../../runtime/console/api.js';
import { clock, dateTime, shortId, shortType, typeName } from '../format.js';
import { useRead } from '../hooks.js';
import { ErrorBox } from '../parts/error-box.js';
import { State } from '../parts/state.js';
import { links } from '../router.js';

type Delivery = TracedCommandView['events'][number]['deliveries'][number];

export const TracePage = ({ target }: { target: string }) => {
  const read = useRead<TraceView>(target ? `/api/trace/${encodeURIComponent(target)}` : undefined);
  const [draft, setDraft] = useState(target);
  useEffect(() => setDraft(target), [target]);
  return (
    <section data-testid="trace-page">
      <div class="heading">
        <h1>Trace</h1>
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            location.hash = links.trace(draft.trim());
          }}
        >
          <input
            value={draft}
            onInput={(e) => setDraft((e.currentTarget as HTMLInputElement).value)}
            placeholder="correlation id, or DOMAIN/ROOT/SEQ"
            size={48}
            data-testid="trace-target"
            spellcheck={false}
          />
          <button type="submit" class="primary">
            Trace
          </button>
        </form>
        {target && (
          <button type="button" onClick={read.reload} data-testid="trace-refresh">
            Refresh
          </button>
        )}
      </div>
      {!target && <p class="empty">Give a correlation id, or open a trace from the Events page.</p>}
      <ErrorBox error={read.error} />
      {target && read.data && (
        <div data-testid="trace-tree">
          <p>
            correlation <code data-testid="trace-correlation">{read.data.correlationId}</code>:{' '}
            {read.data.events} {read.data.events === 1 ? 'event' : 'events'}
            {read.data.truncated && <span class="badge busy">truncated</span>}{' '}
            <a href={links.events({ correlation: read.data.correlationId })}>in the event log</a>
          </p>
          <ul class="tree">
            {read.data.commands.map((command) => (
              <CommandNode key={command.commandId} command={command} />
            ))}
          </ul>
        </div>
      )}
    </section>
  );
};

const CommandNode = ({ command }: { command: TracedCommandView }) => (
  <li data-testid="trace-command" data-type={shortType(command.commandType)}>
    <div class="node command">
      <span class="kind">command</span>{' '}
      <strong title={typeName(command.commandType)}>{shortType(command.commandType)}</strong> →{' '}
      <a href={links.aggregate(command.domain, command.root)} title={`${command.domain}/${command.root}`}>
        {command.domain}/{shortId(command.root)}
      </a>
      {command.saga && <span class="muted"> (saga {command.saga})</span>}
      <span class="muted" title={dateTime(command.at)}>
        {' '}
        {clock(command.at)}
      </span>
      <code class="muted small" title="command id">
        {' '}
        {shortId(command.commandId)}
      </code>
    </div>
    <ul>
      {command.events.map((event) => (
        <li key={event.position} data-testid="trace-event" data-position={event.position}>
          <div class="node event">
            <span class="kind">event</span> #{event.position}{' '}
            <strong title={typeName(event.type)}>{shortType(event.type)}</strong> (seq {event.sequence}){' '}
            <span class="muted" title={dateTime(event.committedAt)}>
              {clock(event.committedAt)}
            </span>
          </div>
          <ul>
            {event.deliveries.map((delivery) => (
              <DeliveryNode key={`${delivery.kind}/${delivery.subscriber}`} delivery={delivery} />
            ))}
          </ul>
        </li>
      ))}
    </ul>
  </li>
);

const DeliveryNode = ({ delivery }: { delivery: Delivery }) => (
  <li data-testid="trace-delivery" data-subscriber={delivery.subscriber} data-state={delivery.state}>
    <div class={`node delivery ${delivery.state}`}>
      <span class="kind">{delivery.kind}</span> {delivery.subscriber} <State state={delivery.state} />
      {delivery.msAfterCommit !== undefined && <span class="timing"> +{delivery.msAfterCommit} ms</span>}
      {delivery.tookMs !== undefined && <span class="muted"> (call {delivery.tookMs} ms)</span>}
      {delivery.deadLetterId !== undefined && (
        <a href={links.subscribers()} data-testid="trace-dead-letter">
          {' '}
          dead letter #{delivery.deadLetterId}
        </a>
      )}
      {delivery.error && <div class="error-text small">{delivery.error}</div>}
    </div>
    {delivery.commands.length > 0 && (
      <ul>
        {delivery.commands.map((command) => (
          <CommandNode key={command.commandId} command={command} />
        ))}
      </ul>
    )}
  </li>
);
