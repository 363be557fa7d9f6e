import { randomUUID } from 'node:crypto';
import { isServiceError } from '../grpc/unary.js';
import { messageOf } from '../errors/index.js';
import type { ReplayProgress, ReplayRequest } from '../protocol/gen/evented/evented.js';
import type { ReplayAction, ReplayView } from './api.js';

/**
 * The replays and rebuilds started from this console, as long as the runtime runs: each is an Admin.Replay call
 * followed to its end, its progress kept as a ReplayView (running, then done, or failed with what the runtime
 * said). Every change goes to the listeners (/api/replays/stream).
 */
export interface Replays {
  start(action: ReplayAction, caller: string): ReplayView;
  list(): ReplayView[];
  /** Called with each changed view; returns how to stop listening. */
  listen(listener: (view: ReplayView) => void): () => void;
}

/** At most this many finished replays are kept (the running ones always are). */
const KEPT = 50;

export const createReplays = (
  replay: (request: ReplayRequest, caller: string, signal: AbortSignal) => AsyncIterable<ReplayProgress>,
  stopping: AbortSignal,
): Replays => {
  const views: ReplayView[] = [];
  const listeners = new Set<(view: ReplayView) => void>();
  const changed = (view: ReplayView): void => {
    for (const listener of listeners) listener({ ...view });
  };
  const follow = async (view: ReplayView, request: ReplayRequest, caller: string): Promise<void> => {
    try {
      for await (const progress of replay(request, caller, stopping)) {
        Object.assign(view, {
          events: progress.events,
          total: progress.total,
          eventsPerSecond: progress.eventsPerSecond,
          etaMs: progress.etaMs,
        });
        if (progress.done) Object.assign(view, { state: 'done', endedAt: new Date().toISOString() });
        changed(view);
      }
      if (view.state === 'running') {
        // Without its last message (done): cut off.
        Object.assign(view, {
          state: 'failed',
          error: stopping.aborted ? 'the runtime stopped' : 'the replay ended before it was done',
        });
      }
    } catch (err) {
      Object.assign(view, {
        state: 'failed',
        error: stopping.aborted ? 'the runtime stopped' : isServiceError(err) ? err.details : messageOf(err),
      });
    }
    if (view.state === 'done') return forgetOld();
    view.endedAt = new Date().toISOString();
    changed(view);
    forgetOld();
  };
  const forgetOld = (): void => {
    const finished = views.filter((it) => it.state !== 'running');
    for (const old of finished.slice(KEPT)) views.splice(views.indexOf(old), 1);
  };
  return {
    start(action, caller) {
      const view: ReplayView = {
        id: randomUUID(),
        subscriber: action.subscriber,
        kind: action.kind,
        rebuild: action.rebuild === true,
        state: 'running',
        events: 0,
        total: 0,
        eventsPerSecond: 0,
        etaMs: 0,
        startedAt: new Date().toISOString(),
      };
      views.unshift(view);
      changed(view);
      const request: ReplayRequest = {
        subscriber: action.subscriber,
        saga: action.kind === 'saga',
        after: action.after ?? 0,
        domain: action.domain ?? '',
        rebuild: action.rebuild === true,
        dryRun: false,
      };
      void follow(view, request, caller);
      return { ...view };
    },
    list: () => views.map((view) => ({ ...view })),
    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
};
