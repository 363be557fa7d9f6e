/**
 * Events: the store's global log, newest first, live (each event committed after the page opened comes on
 * /api/events/stream and is put on top without a reload), filtered by domain, aggregate, type, correlation and
 * time; each payload as JSON on demand; links to the aggregate and to the trace.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { ApiError, EventFilter, EventList, EventView } from '../../runtime/console/api.js';
import { asApiError, getJson, query } from '../api-client.js';
import { clock, dateTime, shortId, shortType, typeName } from '../format.js';
import { useRead, useStream } from '../hooks.js';
import { ErrorBox } from '../parts/error-box.js';
import { LiveMark } from '../parts/live-mark.js';
import { Payload } from '../parts/payload.js';
import { links } from '../router.js';

const FIELDS = ['domain', 'root', 'type', 'correlation', 'since', 'until'] as const;
type Field = (typeof FIELDS)[number];
type Filter = Partial<Record<Field, string>>;

const filterOf = (params: URLSearchParams): Filter =>
  Object.fromEntries(FIELDS.map((f) => [f, params.get(f) ?? undefined]).filter(([, v]) => v));

/** Newest first, each position once. */
const merge = (a: EventView[], b: EventView[]): EventView[] => {
  const byPosition = new Map<number, EventView>();
  for (const event of [...a, ...b]) byPosition.set(event.position, event);
  return [...byPosition.values()].sort((x, y) => y.position - x.position);
};

export const EventsPage = ({ params }: { params: URLSearchParams }) => {
  const filter = useMemo(() => filterOf(params), [params.toString()]);
  const search = query(filter satisfies EventFilter);
  const first = useRead<EventList>(`/api/events${search}`);
  const [events, setEvents] = useState<EventView[]>([]);
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const [more, setMore] = useState(false);
  const [olderError, setOlderError] = useState<ApiError>();

  useEffect(() => {
    setEvents([]);
    setFresh(new Set());
  }, [search]);
  useEffect(() => {
    if (!first.data) return;
    setEvents((streamed) => merge(streamed, first.data!.events));
    setMore(first.data.more);
  }, [first.data]);
  const stream = useStream<EventView>(`/api/events/stream${search}`, 'event', (event) => {
    setEvents((before) => merge([event], before));
    setFresh((before) => new Set(before).add(event.position));
  });

  // Read the list again whenever the stream (re)connects: what was committed between the read and the stream's
  // start, or while it was down, is in the list then (merge keeps each position once).
  useEffect(() => {
    if (stream.state === 'live') first.reload();
  }, [stream.state]);

  const older = async () => {
    const last = events[events.length - 1];
    if (!last) return;
    try {
      const page = await getJson<EventList>(`/api/events${query({ ...filter, before: last.position })}`);
      setEvents((before) => merge(before, page.events));
      setMore(page.more);
      setOlderError(undefined);
    } catch (error) {
      setOlderError(asApiError(error));
    }
  };

  return (
    <section data-testid="events-page">
      <div class="heading">
        <h1>Events</h1>
        <LiveMark state={stream.state} />
        {first.data && <span class="muted">head #{Math.max(first.data.head, events[0]?.position ?? 0)}</span>}
      </div>
      <ErrorBox error={stream.error} />
      <FilterForm filter={filter} />
      <ErrorBox error={first.error} />
      <table class="grid" data-testid="events-table">
        <thead>
          <tr>
            <th class="num">#</th>
            <th>committed</th>
            <th>aggregate</th>
            <th class="num">seq</th>
            <th>type</th>
            <th>correlation</th>
            <th>payload</th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => (
            <EventRow key={event.position} event={event} fresh={fresh.has(event.position)} />
          ))}
        </tbody>
      </table>
      {!first.loading && events.length === 0 && !first.error && (
        <p class="empty" data-testid="events-empty">
          No events{search ? ' match this filter' : ' yet'}. New ones show here as they are committed.
        </p>
      )}
      <ErrorBox error={olderError} />
      {more && (
        <button type="button" onClick={() => void older()} data-testid="events-older">
          Older events
        </button>
      )}
    </section>
  );
};

const EventRow = ({ event, fresh }: { event: EventView; fresh: boolean }) => (
  <tr
    class={fresh ? 'fresh' : undefined}
    data-testid="event-row"
    data-position={event.position}
    data-root={event.root}
    data-type={shortType(event.type)}
  >
    <td class="num">{event.position}</td>
    <td title={dateTime(event.committedAt)}>{clock(event.committedAt)}</td>
    <td>
      <a
        href={links.aggregate(event.domain, event.root)}
        title={`${event.domain}/${event.root}`}
        data-testid="event-aggregate"
      >
        {event.domain}/{shortId(event.root)}
      </a>
    </td>
    <td class="num">{event.sequence}</td>
    <td title={typeName(event.type)}>{shortType(event.type)}</td>
    <td>
      {event.origin?.correlationId ? (
        <a
          href={links.trace(event.origin.correlationId)}
          title={event.origin.correlationId}
          data-testid="event-trace"
        >
          {shortId(event.origin.correlationId)}
        </a>
      ) : (
        <a
          href={links.trace(`${event.domain}/${event.root}/${event.sequence}`)}
          class="muted"
          data-testid="event-trace"
        >
          trace
        </a>
      )}
    </td>
    <td>
      <Payload payload={event.payload} size={event.size} />
    </td>
  </tr>
);

/** ISO 8601 ⇄ the local time a datetime-local input shows. */
const toLocalInput = (iso: string | undefined): string => {
  if (!iso) return '';
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return '';
  return new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
};
const fromLocalInput = (value: string): string | undefined =>
  value ? new Date(value).toISOString() : undefined;

const FilterForm = ({ filter }: { filter: Filter }) => {
  const [draft, setDraft] = useState<Filter>(filter);
  useEffect(() => setDraft(filter), [filter]);
  const set = (field: Field) => (e: Event) =>
    setDraft({ ...draft, [field]: (e.currentTarget as HTMLInputElement).value || undefined });
  const time = (field: 'since' | 'until') => (
    <label>
      {field}
      <input
        type="datetime-local"
        step={1}
        value={toLocalInput(draft[field])}
        onInput={(e) =>
          setDraft({ ...draft, [field]: fromLocalInput((e.currentTarget as HTMLInputElement).value) })
        }
        data-testid={`filter-${field}`}
      />
    </label>
  );
  const apply = (e: Event) => {
    e.preventDefault();
    location.hash = links.events(draft);
  };
  const text = (field: Exclude<Field, 'since' | 'until'>, label: string, placeholder: string) => (
    <label>
      {label}
      <input
        value={draft[field] ?? ''}
        onInput={set(field)}
        placeholder={placeholder}
        data-testid={`filter-${field}`}
        spellcheck={false}
      />
    </label>
  );
  return (
    <form class="filters" onSubmit={apply} data-testid="events-filter">
      {text('domain', 'domain', 'account')}
      {text('root', 'aggregate', 'root UUID')}
      {text('type', 'type', 'Deposited')}
      {text('correlation', 'correlation', 'id')}
      {time('since')}
      {time('until')}
      <button type="submit" class="primary" data-testid="filter-apply">
        Filter
      </button>
      <a href={links.events()} class="button" data-testid="filter-clear">
        Clear
      </a>
    </form>
  );
};
