/**
 * The dead letters (events a subscriber kept failing on): by state, each with show (its event and payload),
 * retry and skip. An action goes through the confirmation, which names the letter, its subscriber and its event.
 */
import { useEffect, useState } from 'preact/hooks';
import type {
  ApiError,
  DeadLetterAction,
  DeadLetterDetailView,
  DeadLetterView,
} from '../../runtime/console/api.js';
import { asApiError, getJson, postJson, query } from '../api-client.js';
import { dateTime, shortId, shortType } from '../format.js';
import { useRead } from '../hooks.js';
import type { PendingAction } from '../parts/confirm.js';
import { ErrorBox } from '../parts/error-box.js';
import { State } from '../parts/state.js';
import { links } from '../router.js';

const STATES = ['open', 'retried', 'skipped', ''] as const;

/** "dead letter #3 of projector accounts (account/8a1f…c3d2/2)". */
const named = (letter: DeadLetterView): string =>
  `dead letter #${letter.id} of ${letter.kind} ${letter.subscriber} (${letter.domain}/${shortId(letter.root)}/${letter.sequence})`;

/** `changed` is a number that moves when letters come or go (the subscribers' dead-letter counts): read again. */
export const DeadLetters = ({ changed, ask }: { changed: number; ask: (action: PendingAction) => void }) => {
  const [state, setState] = useState<(typeof STATES)[number]>('open');
  const read = useRead<{ letters: DeadLetterView[] }>(`/api/dead-letters${query({ state })}`);
  useEffect(() => read.reload(), [changed]);
  const [shown, setShown] = useState<number>();

  const decide = (letter: DeadLetterView, verb: 'Retry' | 'Skip') => {
    const body: DeadLetterAction = { ids: [letter.id] };
    ask({
      verb,
      question:
        verb === 'Retry'
          ? `Retry ${named(letter)}? Its event is delivered to ${letter.subscriber} again.`
          : `Skip ${named(letter)}? Its event will never be delivered to ${letter.subscriber}; the decision is recorded.`,
      run: async () => {
        await postJson<{ letters: DeadLetterView[] }>(`/api/dead-letters/${verb.toLowerCase()}`, body);
        read.reload();
      },
    });
  };

  const letters = read.data?.letters ?? [];
  return (
    <>
      <div class="heading">
        <h2>Dead letters</h2>
        <select
          value={state}
          onChange={(e) => setState((e.currentTarget as HTMLSelectElement).value as (typeof STATES)[number])}
          data-testid="dead-letters-state"
          aria-label="which dead letters"
        >
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s || 'all'}
            </option>
          ))}
        </select>
        <button type="button" onClick={read.reload} data-testid="dead-letters-refresh">
          Refresh
        </button>
      </div>
      <ErrorBox error={read.error} />
      <table class="grid" data-testid="dead-letters" hidden={letters.length === 0}>
        <thead>
          <tr>
            <th class="num">id</th>
            <th>subscriber</th>
            <th>event</th>
            <th class="num">attempts</th>
            <th>last error</th>
            <th>state</th>
            <th>actions</th>
          </tr>
        </thead>
        <tbody>
          {letters.map((letter) => (
            <LetterRows
              key={letter.id}
              letter={letter}
              shown={shown === letter.id}
              show={() => setShown(shown === letter.id ? undefined : letter.id)}
              decide={decide}
            />
          ))}
        </tbody>
      </table>
      {!read.loading && letters.length === 0 && !read.error && (
        <p class="empty" data-testid="dead-letters-empty">
          No {state || ''} dead letters.
        </p>
      )}
    </>
  );
};

const LetterRows = ({
  letter,
  shown,
  show,
  decide,
}: {
  letter: DeadLetterView;
  shown: boolean;
  show: () => void;
  decide: (letter: DeadLetterView, verb: 'Retry' | 'Skip') => void;
}) => (
  <>
    <tr data-testid="dead-letter" data-id={letter.id} data-state={letter.state}>
      <td class="num">#{letter.id}</td>
      <td>
        <span class="muted">{letter.kind}</span> {letter.subscriber}
      </td>
      <td>
        <a href={links.aggregate(letter.domain, letter.root)} title={`${letter.domain}/${letter.root}`}>
          {letter.domain}/{shortId(letter.root)}/{letter.sequence}
        </a>{' '}
        <span class="muted">#{letter.position}</span>
      </td>
      <td class="num">{letter.attempts}</td>
      <td class="error-text" title={letter.lastError}>
        {letter.lastError}
      </td>
      <td>
        <State state={letter.state} testid="dead-letter-state" />
        {letter.decidedBy && (
          <div class="small muted" data-testid="dead-letter-decided">
            by {letter.decidedBy} {dateTime(letter.decidedAt)}
          </div>
        )}
      </td>
      <td class="actions">
        <button type="button" onClick={show} aria-expanded={shown} data-testid="dead-letter-show">
          {shown ? 'Hide' : 'Show'}
        </button>
        {letter.state === 'open' && (
          <>
            <button type="button" onClick={() => decide(letter, 'Retry')} data-testid="dead-letter-retry">
              Retry
            </button>
            <button type="button" onClick={() => decide(letter, 'Skip')} data-testid="dead-letter-skip">
              Skip
            </button>
          </>
        )}
      </td>
    </tr>
    {shown && (
      <tr class="detail">
        <td colSpan={7}>
          <LetterDetail id={letter.id} />
        </td>
      </tr>
    )}
  </>
);

const LetterDetail = ({ id }: { id: number }) => {
  const [detail, setDetail] = useState<DeadLetterDetailView>();
  const [error, setError] = useState<ApiError>();
  useEffect(() => {
    getJson<DeadLetterDetailView>(`/api/dead-letters/${id}`).then(setDetail, (e: unknown) =>
      setError(asApiError(e)),
    );
  }, [id]);
  if (error) return <ErrorBox error={error} />;
  if (!detail) return <span class="muted">reading…</span>;
  const { letter, event } = detail;
  return (
    <dl class="facts" data-testid="dead-letter-detail">
      <dt>error</dt>
      <dd class="error-text">{letter.lastError}</dd>
      <dt>first failed</dt>
      <dd>{dateTime(letter.createdAt)}</dd>
      {event && (
        <>
          <dt>event</dt>
          <dd>
            {shortType(event.type)} · committed {dateTime(event.committedAt)}
            {event.origin?.correlationId && (
              <>
                {' '}
                · <a href={links.trace(event.origin.correlationId)}>trace</a>
              </>
            )}
          </dd>
          <dt>payload</dt>
          <dd>
            <pre class="json">
              {event.payload === undefined ? `${event.size} bytes` : JSON.stringify(event.payload, null, 2)}
            </pre>
          </dd>
        </>
      )}
    </dl>
  );
};
