/**
 * This server's replays and rebuilds, live: a progress bar, the rate, the ETA, and the error that stopped one —
 * the one that ended it (failed), or the one its subscriber keeps failing with while the replay waits for it (a
 * projector that is down is waited for, not given up on: the replay goes on once it answers).
 */
import { useEffect, useState } from 'preact/hooks';
import type { ReplayView, SubscriberView } from '../../runtime/console/api.js';
import { clock, duration, rate } from '../format.js';
import { useRead, useStream } from '../hooks.js';
import { ErrorBox } from '../parts/error-box.js';
import { State } from '../parts/state.js';

/**
 * `started` changes when the page starts one: the list is read again (the stream may have missed its start).
 * `subscribers` (live) say why a running replay is stuck.
 */
export const Replays = ({ started, subscribers }: { started: number; subscribers: SubscriberView[] }) => {
  const read = useRead<{ replays: ReplayView[] }>('/api/replays');
  const [byId, setById] = useState<Map<string, ReplayView>>(new Map());
  useEffect(() => read.reload(), [started]);
  useEffect(() => {
    // What was read is newer than what the stream said before it: it wins.
    if (read.data)
      setById((before) => new Map([...before, ...read.data!.replays.map((r) => [r.id, r] as const)]));
  }, [read.data]);
  const stream = useStream<ReplayView>('/api/replays/stream', 'replay', (replay) =>
    setById((before) => new Map(before).set(replay.id, replay)),
  );
  const replays = [...byId.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  if (replays.length === 0 && !read.error) return null;
  return (
    <>
      <h2>Replays and rebuilds</h2>
      <ErrorBox error={read.error} />
      <ErrorBox error={stream.error} />
      <div data-testid="replays">
        {replays.map((replay) => (
          <ReplayProgress
            key={replay.id}
            replay={replay}
            stuck={replay.state === 'running' ? waitedFor(subscribers, replay) : undefined}
          />
        ))}
      </div>
    </>
  );
};

/** Why the replay's subscriber cannot be reached, while the replay waits for it (its state is then "waiting"). */
const waitedFor = (subscribers: SubscriberView[], replay: ReplayView): string | undefined => {
  const subscriber = subscribers.find((s) => s.name === replay.subscriber && s.kind === replay.kind);
  return subscriber?.state === 'waiting' ? subscriber.lastError || 'it does not answer' : undefined;
};

const ReplayProgress = ({ replay, stuck }: { replay: ReplayView; stuck: string | undefined }) => {
  const share =
    replay.total > 0 ? Math.min(1, replay.events / replay.total) : replay.state === 'done' ? 1 : 0;
  return (
    <div
      class={`panel replay ${replay.state}`}
      data-testid="replay"
      data-id={replay.id}
      data-subscriber={replay.subscriber}
      data-state={replay.state}
    >
      <div class="replay-head">
        <strong>
          {replay.rebuild ? 'rebuild' : 'replay'} of {replay.kind} {replay.subscriber}
        </strong>
        <State state={replay.state} testid="replay-state" />
        <span class="muted">started {clock(replay.startedAt)}</span>
        {replay.endedAt && <span class="muted">ended {clock(replay.endedAt)}</span>}
      </div>
      <div
        class="bar"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={replay.total}
        aria-valuenow={replay.events}
        data-testid="replay-bar"
        data-events={replay.events}
        data-total={replay.total}
      >
        <div style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </div>
      <div class="small" data-testid="replay-numbers">
        {replay.events} / {replay.total} events ({Math.floor(share * 100)} %)
        {replay.state === 'running' && (
          <>
            {' '}
            · {rate(replay.eventsPerSecond)} · ETA {duration(replay.etaMs)}
          </>
        )}
      </div>
      {replay.error && (
        <div data-testid="replay-error">
          <ErrorBox error={{ error: replay.error }} />
        </div>
      )}
      {stuck && (
        <div data-testid="replay-error">
          <ErrorBox
            error={{
              error: `stopped: ${stuck}`,
              hint: `the ${replay.rebuild ? 'rebuild' : 'replay'} goes on once ${replay.kind} ${replay.subscriber} answers again`,
            }}
          />
        </div>
      )}
    </div>
  );
};
