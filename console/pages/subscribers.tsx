/**
 * Subscribers: every projector and saga with its state, position, lag and rate, live (/api/status/stream);
 * partitions and their holders; rebuild and replay with a live progress bar and ETA (/api/replays/stream);
 * the dead letters with show, retry and skip. Every action asks first, naming exactly what it will do.
 */
import { useState } from 'preact/hooks';
import type { ReplayAction, ReplayView, StatusView, SubscriberView } from '../../runtime/console/api.js';
import { postJson } from '../api-client.js';
import { rate } from '../format.js';
import { useRead, useStream } from '../hooks.js';
import { ConfirmDialog, type PendingAction } from '../parts/confirm.js';
import { ErrorBox } from '../parts/error-box.js';
import { LiveMark } from '../parts/live-mark.js';
import { State } from '../parts/state.js';
import { DeadLetters } from './dead-letters.js';
import { Replays } from './replays.js';

export const SubscribersPage = () => {
  const first = useRead<StatusView>('/api/status');
  const [latest, setLatest] = useState<StatusView>();
  const stream = useStream<StatusView>('/api/status/stream', 'status', setLatest);
  const status = latest ?? first.data;
  const [pending, setPending] = useState<PendingAction>();
  const [replays, setReplays] = useState(0);

  const replay = (subscriber: SubscriberView, rebuild: boolean) => {
    const action: ReplayAction = { subscriber: subscriber.name, kind: subscriber.kind, rebuild, after: 0 };
    const events = status ? ` (${status.head} events)` : '';
    setPending({
      verb: rebuild ? 'Rebuild' : 'Replay',
      question: rebuild
        ? `Rebuild projector ${subscriber.name}: reset its read model and replay the whole event log${events} to it?`
        : `Replay the whole event log${events} to ${subscriber.kind} ${subscriber.name} from the beginning? ` +
          'It sees every event again.',
      run: async () => {
        await postJson<ReplayView>('/api/replays', action);
        setReplays((n) => n + 1);
      },
    });
  };

  const deadLettered = status?.subscribers.reduce((sum, s) => sum + s.deadLettered, 0) ?? 0;
  return (
    <section data-testid="subscribers-page">
      <div class="heading">
        <h1>Subscribers</h1>
        <LiveMark state={stream.state} />
        {status && <span class="muted">head #{status.head}</span>}
      </div>
      <ErrorBox error={stream.error} />
      <ErrorBox error={first.error} />
      <table class="grid" data-testid="subscribers-table">
        <thead>
          <tr>
            <th>subscriber</th>
            <th>state</th>
            <th class="num">position</th>
            <th class="num">lag</th>
            <th class="num">rate</th>
            <th class="num">delivered</th>
            <th class="num">dead letters</th>
            <th>partitions</th>
            <th>actions</th>
          </tr>
        </thead>
        <tbody>
          {status?.subscribers.map((subscriber) => (
            <SubscriberRow
              key={`${subscriber.kind}/${subscriber.name}`}
              subscriber={subscriber}
              replay={replay}
            />
          ))}
        </tbody>
      </table>
      {status && status.subscribers.length === 0 && (
        <p class="empty">No projector or saga is configured (evented.yaml: projectors, sagas).</p>
      )}
      <Replays started={replays} subscribers={status?.subscribers ?? []} />
      <DeadLetters changed={deadLettered} ask={setPending} />
      {pending && <ConfirmDialog action={pending} onClose={() => setPending(undefined)} />}
    </section>
  );
};

const SubscriberRow = ({
  subscriber,
  replay,
}: {
  subscriber: SubscriberView;
  replay: (subscriber: SubscriberView, rebuild: boolean) => void;
}) => (
  <>
    <tr data-testid="subscriber-row" data-name={subscriber.name} data-kind={subscriber.kind}>
      <td>
        <span class="muted">{subscriber.kind}</span> <strong>{subscriber.name}</strong>
        <div class="muted small" title="address · domains">
          {subscriber.address} · {subscriber.domains.join(', ') || 'all domains'}
        </div>
      </td>
      <td>
        <State state={subscriber.state} testid="subscriber-state" />
      </td>
      <td class="num" data-testid="subscriber-checkpoint">
        {subscriber.checkpoint}
      </td>
      <td class={`num ${subscriber.lag > 0 ? 'warn' : ''}`} data-testid="subscriber-lag">
        {subscriber.lag}
      </td>
      <td class="num">{rate(subscriber.rate)}</td>
      <td class="num">{subscriber.delivered}</td>
      <td class={`num ${subscriber.deadLettered > 0 ? 'bad' : ''}`} data-testid="subscriber-dead-lettered">
        {subscriber.deadLettered}
      </td>
      <td class="small">
        {subscriber.holders.length === 0 ? (
          <span class="muted">one process</span>
        ) : (
          subscriber.holders.map((h) => (
            <div key={h.process} data-testid="subscriber-holder">
              {h.process}: {h.partitions}
            </div>
          ))
        )}
      </td>
      <td class="actions">
        {subscriber.kind === 'projector' && (
          <button type="button" onClick={() => replay(subscriber, true)} data-testid="subscriber-rebuild">
            Rebuild
          </button>
        )}
        <button type="button" onClick={() => replay(subscriber, false)} data-testid="subscriber-replay">
          Replay
        </button>
      </td>
    </tr>
    {subscriber.lastError && (
      <tr class="error-row">
        <td colSpan={9} class="error-text" data-testid="subscriber-error">
          last error: {subscriber.lastError}
        </td>
      </tr>
    )}
  </>
);
