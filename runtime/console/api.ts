/**
 * The web console's HTTP API: what the console's pages (console/) read and do, served by the admin role beside
 * the console's files (runtime/console/server.ts). Every answer is built from the Admin and Query APIs the CLI
 * uses: the console shows nothing, and does nothing, that `evented` cannot. Types only: the pages import them.
 *
 * Reads (GET, JSON unless said):
 *   /api/session                         → Session
 *   /api/status                          → StatusView
 *   /api/status/stream                   → server-sent events `status` (StatusView), one a second
 *   /api/events?EventFilter              → EventList, newest first
 *   /api/events/stream?EventFilter       → server-sent events `event` (EventView), each new event as committed
 *   /api/aggregates/DOMAIN/ROOT          → AggregateView
 *   /api/trace/TARGET                    → TraceView (TARGET: a correlation id, or DOMAIN/ROOT/SEQ url-encoded)
 *   /api/dead-letters?subscriber=&state= → DeadLetterView[] in { letters }
 *   /api/dead-letters/ID                 → DeadLetterDetailView
 *   /api/replays                         → { replays: ReplayView[] } (this process's, newest first)
 *   /api/replays/stream                  → server-sent events `replay` (ReplayView) on every change
 * Actions (POST, JSON body; see "Safety" below):
 *   /api/dead-letters/retry   DeadLetterAction → { letters: DeadLetterView[] }
 *   /api/dead-letters/skip    DeadLetterAction → { letters: DeadLetterView[] }
 *   /api/replays              ReplayAction     → ReplayView (started; follow it on /api/replays/stream)
 * Errors: a status ≥ 400 with ApiError (400 bad input, 401 the configured token missing, 403 an action refused,
 * 404 unknown, 409 refused by the runtime's state, 421 a foreign Host, 503 the runtime unreachable). A stream
 * that fails after it started sends an `api-error` event (ApiError) and goes on (status) or ends (events).
 * POST /api/replays answers 202: the replay runs on, and its ReplayView changes on /api/replays/stream.
 *
 * Safety: every request's Host must name this server (127.0.0.1:PORT, localhost:PORT, [::1]:PORT, or the
 * configured host): a foreign Host (DNS rebinding) gets 421. An action needs an Origin equal to
 * `http://` + its Host (a page elsewhere cannot send one: CSRF) and the header `x-evented-token` with
 * Session.token (the per-run token, readable only by a same-origin page); else 403. Actions are logged with
 * their caller (the runtime's audit log). On a host other than loopback every request to /api also needs
 * `authorization: Bearer <console.token>` (the configured token), or the same token in the cookie
 * `evented-console-token` (an EventSource cannot set a header); the page's own files (no data in them) are served
 * without it, so that a page can ask for the token.
 */

import type { DeadLetterView, EventView } from '../protocol/json-views.js';

// The views of events, aggregates, dead letters and traces are the CLI's `--json` too: one per concept.
export type {
  AggregateView,
  CommandView,
  DeadLetterView,
  EventView,
  OriginView,
  TracedCommandView,
  TraceDeliveryState,
  TraceView,
} from '../protocol/json-views.js';

/** GET /api/session: what the pages need first. */
export interface Session {
  project: string;
  version: string;
  /** The per-run token that actions carry in `x-evented-token`. */
  token: string;
  /** The console's own address, as the runtime prints it. */
  url: string;
}

export interface ApiError {
  /** What was wrong, in a sentence. */
  error: string;
  /** How to fix it, when there is a way. */
  hint?: string;
}

/** Query parameters of /api/events and /api/events/stream; all optional. */
export interface EventFilter {
  domain?: string;
  root?: string;
  /** A full or short type name ("Deposited"). */
  type?: string;
  correlation?: string;
  /** ISO 8601: events committed at or after. */
  since?: string;
  /** ISO 8601: events committed before. */
  until?: string;
  /** Only events before this position (paging back). */
  before?: number;
  /** At most this many (default 100, at most 1000). */
  limit?: number;
}

export interface EventList {
  events: EventView[];
  /** The store's highest position when read. */
  head: number;
  /** There are older events matching the filter: page with before = the last event's position. */
  more: boolean;
}

export interface ComponentView {
  /** Which process reports it (its processId), when several run. */
  process: string;
  roles: string[];
  name: string;
  kind: string;
  address: string;
  /** "ok", "retrying", "unavailable", … */
  state: string;
  detail: string;
}

export interface PartitionHolder {
  process: string;
  partitions: string;
}

export interface SubscriberView {
  name: string;
  kind: 'projector' | 'saga';
  address: string;
  domains: string[];
  /** "live", "catching-up", "waiting", "stopped", "replaying", "paused". */
  state: string;
  checkpoint: number;
  lag: number;
  delivered: number;
  deadLettered: number;
  /** Why delivery is stuck, while it is (the service does not answer, or a dead letter is open); else empty. */
  lastError: string;
  /** Events per second delivered, from the last two readings. */
  rate: number;
  /** Who holds which partitions, when the subscriber is partitioned over several processes. */
  holders: PartitionHolder[];
}

export interface StatusView {
  project: string;
  version: string;
  head: number;
  /** ISO 8601: when read. */
  at: string;
  components: ComponentView[];
  subscribers: SubscriberView[];
  /** Commands and events per second (this process's command handler, when it has that role). */
  commandsPerSecond?: number;
  eventsPerSecond?: number;
}

export interface DeadLetterDetailView {
  letter: DeadLetterView;
  event?: EventView;
}

/** POST /api/dead-letters/retry and /skip: these letters, or a subscriber's open ones (of one aggregate). */
export interface DeadLetterAction {
  ids?: number[];
  subscriber?: string;
  aggregate?: { domain: string; root: string };
}

/** POST /api/replays. */
export interface ReplayAction {
  subscriber: string;
  kind: 'projector' | 'saga';
  /** Reset the projector and replay everything. */
  rebuild?: boolean;
  /** Replay events after this position (0: from the beginning). */
  after?: number;
  domain?: string;
}

export interface ReplayView {
  /** Given by this server. */
  id: string;
  subscriber: string;
  kind: 'projector' | 'saga';
  rebuild: boolean;
  /** "running", "done" or "failed". */
  state: 'running' | 'done' | 'failed';
  events: number;
  total: number;
  eventsPerSecond: number;
  etaMs: number;
  /** ISO 8601. */
  startedAt: string;
  endedAt?: string;
  /** What stopped it (state failed). */
  error?: string;
}
