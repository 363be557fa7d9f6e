import type { Origin, Snapshot } from '../protocol/gen/evented/evented.js';
import type { Any } from '../protocol/gen/google/protobuf/any.js';
import type { Timestamp } from '../protocol/gen/google/protobuf/timestamp.js';

/**
 * The event store port. The store is the single source of truth: every adapter (SQLite, PostgreSQL,
 * MongoDB) implements exactly this and passes the same contract suite (test/contract/event-store.contract.ts).
 */

/** One stored event. */
export interface StoredEvent {
  /** Global position: strictly increasing across the whole store, in commit order, starting at 1. */
  position: number;
  domain: string;
  /** 16 bytes. */
  root: Uint8Array;
  /** 0, 1, 2, … per aggregate, no gaps. */
  sequence: number;
  createdAt: Timestamp;
  /** The opaque payload; undefined when the page carried none. */
  event: Any | undefined;
  synchronous: boolean;
  /** Where it came from (correlation, causation, trace context); undefined for events stored without one. */
  origin?: Origin | undefined;
}

export interface AggregateRef {
  domain: string;
  root: Uint8Array;
}

/** A page to append: an explicit sequence (`num`) or "the next one" (`force`). */
export interface NewEvent {
  num?: number | undefined;
  force?: boolean | undefined;
  createdAt?: Timestamp | undefined;
  event: Any | undefined;
  synchronous: boolean;
}

export interface AppendRequest extends AggregateRef {
  /**
   * Optimistic concurrency: the next sequence the writer saw. When the aggregate has moved on, the append
   * fails with ConcurrencyConflictError and nothing is written. Undefined: append at whatever is next
   * (`num` pages must still be exactly next).
   */
  expectedNext?: number | undefined;
  events: NewEvent[];
  /** Stored when its sequence is newer than the stored one. Its sequence may not exceed the new next. */
  snapshot?: Snapshot | undefined;
  /**
   * Makes the append happen at most once: the key is stored with the events, in the same transaction, and an
   * append whose key is already stored writes nothing and answers `duplicate: true`. Sagas use it so that a
   * redelivered event never applies their output twice.
   */
  idempotencyKey?: string | undefined;
  /** Stored with every event of the append (see Origin in evented.proto). */
  origin?: Origin | undefined;
  /**
   * The command this append is the decision of (`commandLog: true`): logged as accepted, with the append's
   * events, in the same transaction, so that the log and the events never disagree. Not logged when the append
   * writes nothing (a conflict, a duplicate idempotency key).
   */
  decision?: CommandDecision | undefined;
}

export interface Appended {
  /** The stored events with their sequences, positions and timestamps. */
  events: StoredEvent[];
  /** The aggregate's next sequence after this append. */
  next: number;
  /** True when the idempotency key had been applied before: nothing was written, `events` is empty. */
  duplicate?: boolean;
}

export interface LogCount {
  events: number;
  aggregates: number;
}

/**
 * An aggregate as business logic needs it: the latest snapshot and the events at or after its sequence, as
 * one consistent view of the store (see EventStore.load).
 */
export interface LoadedAggregate {
  snapshot: Snapshot | undefined;
  /** Every event from the snapshot's sequence (0 without one) to the aggregate's end, without a gap. */
  events: StoredEvent[];
  /** The sequence after the last of `events` (the snapshot's sequence when there are none): from the same view. */
  next: number;
}

/** Sequence bounds: `from` inclusive, `to` exclusive; undefined means unbounded. */
export interface SequenceRange {
  from?: number | undefined;
  to?: number | undefined;
}

export interface EventStore
  extends SubscriberProgress, SubscriberPauses, DeadLetterStore, LeaseStore, PartitionClaims, CommandLog {
  /** What kind of store this is, for status lines ("sqlite", "postgres", …). */
  readonly kind: string;
  /** A human description of where the data is (a file path, a server URL without credentials). */
  readonly location: string;

  /** Appends a whole book atomically, or nothing. Throws ConcurrencyConflictError, SequenceError, ValidationError. */
  append(request: AppendRequest): Promise<Appended>;
  /**
   * The latest snapshot and the events after it, read as ONE consistent view of the store: the snapshot, the
   * events and `next` are what the store held at a single moment, so an append another process (or another
   * instance) commits meanwhile is either wholly in the result or wholly out of it — never a `next` beyond the
   * events returned, never a gap. The command handler decides on this state and passes its `next` as the
   * append's `expectedNext`, so any append that landed after that moment fails the decision's append with a
   * ConcurrencyConflictError instead of being silently overlooked. SQLite reads in one read transaction,
   * PostgreSQL in one statement, MongoDB in one snapshot-read-concern transaction; each builds the result with
   * loadedAggregate() (loaded.ts), which derives `next` from what was read. Tested by the contract
   * (concurrency.contract.ts: loads racing writers in other processes).
   */
  load(aggregate: AggregateRef): Promise<LoadedAggregate>;
  /** One aggregate's events within a range, in sequence order. */
  readAggregate(aggregate: AggregateRef, range?: SequenceRange): Promise<StoredEvent[]>;
  /** The sequence the aggregate's next event will get (0 for an aggregate with no events). */
  nextSequence(aggregate: AggregateRef): Promise<number>;
  /** Every aggregate with at least one event, optionally of one domain, in no promised order. */
  listAggregates(domain?: string): AsyncIterable<AggregateRef>;
  /**
   * The global log: events with position > `after`, in position order, at most `limit`.
   * A position once read is never followed later by a smaller one (no event commits "behind" a reader).
   */
  readLog(after: number, limit: number): Promise<StoredEvent[]>;
  /**
   * The events whose origin has this correlation id (Origin.correlationId), in position order, at most `limit`:
   * one piece of work across aggregates and domains (a command, and what sagas did about it). Served by an index.
   */
  readCorrelation(correlationId: string, limit: number): Promise<StoredEvent[]>;
  /**
   * What a replay from `after` would cover: how many events have a position greater than `after` and how many
   * aggregates they belong to, counting only `domains` when given.
   */
  countLog(after: number, domains?: readonly string[]): Promise<LogCount>;
  /** The highest position in the store (0 when empty). */
  headPosition(): Promise<number>;
  /** Named subscriber checkpoints (the relay's, a projector's): the last position handled. 0 when unknown. */
  getCheckpoint(name: string): Promise<number>;
  /**
   * Moves a checkpoint forward, never back: a save of a smaller position than the stored one changes nothing
   * (a late save by a relay that has since lost its lease cannot undo a newer holder's). With `fence`, the save
   * happens only while that lease still has that fencing number, and is a no-op otherwise.
   */
  saveCheckpoint(name: string, position: number, fence?: LeaseFence): Promise<void>;
  /** Whether an append with this idempotency key has been stored. */
  isApplied(idempotencyKey: string): Promise<boolean>;
  /**
   * Calls `listener` after each commit that added events through this instance (so the relay can publish at
   * once). Commits by other processes are not announced: readers poll for those. Returns an unsubscribe function.
   */
  onAppended(listener: () => void): () => void;
  close(): Promise<void>;
}

/** How far a subscriber (a projector, a saga) has got in one aggregate. */
export interface ProgressRecord extends AggregateRef {
  /** The next sequence the subscriber expects: every event below it has been handled. */
  next: number;
  /**
   * The calls that applied events of this aggregate since the last save, kept in the delivery log by the same
   * write as the progress (what `evented trace` shows: who applied an event, when). Absent: none to log.
   */
  applied?: readonly AppliedCall[] | undefined;
}

/** One successful call that applied a range of one aggregate's events to a subscriber. */
export interface AppliedCall {
  /** The sequences the call applied: `from` inclusive, `to` exclusive. */
  from: number;
  to: number;
  /** When the call ended, in ms since the epoch. */
  at: number;
  /** How long the call took, in ms. */
  tookMs: number;
}

/** An entry of the delivery log: a call that applied events of `domain`/`root` to `subscriber`. */
export interface Delivery extends AggregateRef, AppliedCall {
  /** "projector:NAME" or "saga:NAME". */
  subscriber: string;
}

/**
 * Subscriber progress, kept in the store beside the events: per aggregate, the next sequence each projector or
 * saga expects (what makes delivery idempotent and gaps detectable), and the subscriber's global checkpoint
 * (what catch-up starts from and lag is measured against).
 */
export interface SubscriberProgress {
  /** The next sequence `subscriber` expects for each aggregate, in the same order (0 when it has seen none). */
  loadProgress(subscriber: string, aggregates: readonly AggregateRef[]): Promise<number[]>;
  /**
   * Records progress, and optionally a checkpoint, in one write: named `checkpointName`, by default like the
   * subscriber (a partition's is `<subscriber>/<partitions>.<partition>`: see subscriber/partitions.ts).
   */
  saveProgress(
    subscriber: string,
    records: readonly ProgressRecord[],
    checkpoint?: number,
    checkpointName?: string,
  ): Promise<void>;
  /**
   * Forgets a subscriber's progress and checkpoints: its own and those of its partitions (names starting with
   * `<subscriber>/`). A rebuild starts from nothing.
   */
  resetProgress(subscriber: string): Promise<void>;
  /**
   * The delivery log's entries for one aggregate whose sequence range overlaps `range`, in no promised order.
   * A rebuild does not forget them: they are what happened.
   */
  listDeliveries(aggregate: AggregateRef, range?: SequenceRange): Promise<Delivery[]>;
  /** Forgets the delivery log's entries of calls that ended before `endedBefore` (ms since the epoch). */
  pruneDeliveries(endedBefore: number): Promise<void>;
}

/**
 * Where a dead letter stands: `open` (set aside and still owed to its subscriber), `retried` (delivered again,
 * successfully) or `skipped` (given up on by a person). Only open letters hold their aggregate back.
 */
export type DeadLetterState = 'open' | 'retried' | 'skipped';

export const DEAD_LETTER_STATES: readonly DeadLetterState[] = ['open', 'retried', 'skipped'];

/** An event set aside for one subscriber, as `putDeadLetter` takes it. */
export interface NewDeadLetter extends AggregateRef {
  /** "projector:NAME" or "saga:NAME". */
  subscriber: string;
  /** The event's sequence in its aggregate, and its global position. */
  sequence: number;
  position: number;
  /** Calls made for it; 0 for an event parked behind an earlier letter of its aggregate without being tried. */
  attempts: number;
  /** Why it was set aside: the subscriber's last error, or "waiting behind #N". */
  lastError: string;
  /** When, in ms since the epoch. */
  at: number;
}

/** A dead letter as stored: what was set aside, and what became of it. */
export interface DeadLetter extends AggregateRef {
  /** Given by the store, increasing in the order letters were first set aside; never reused. */
  id: number;
  subscriber: string;
  sequence: number;
  position: number;
  attempts: number;
  lastError: string;
  state: DeadLetterState;
  /** When it was first set aside, and last changed (an attempt, a decision, a reopening), in ms since the epoch. */
  createdAt: number;
  updatedAt: number;
  /** When and by whom it was retried or skipped; undefined while it is open. */
  decidedAt: number | undefined;
  decidedBy: string | undefined;
}

export interface DeadLetterFilter {
  subscriber?: string | undefined;
  state?: DeadLetterState | undefined;
  /** Only this aggregate's letters. */
  aggregate?: AggregateRef | undefined;
  /** Letters with an id greater than this (for paging). */
  afterId?: number | undefined;
  /** At most this many. */
  limit?: number | undefined;
}

/**
 * Dead letters, kept in the store beside the events (whatever the bus): per subscriber and event, one letter.
 * The event itself stays where it is (read it with readAggregate); a letter says where it is and why it was
 * set aside, and records what was decided about it.
 */
export interface DeadLetterStore {
  /**
   * Sets an event aside, idempotently: one letter per (subscriber, aggregate, sequence). A new letter is stored
   * open. When the event already has one, an open letter is left exactly as it is (a redelivered event after a
   * crash makes no second letter), and a closed one (retried, skipped) is opened again with the new attempts and
   * error (the event is owed again: a replay delivered it once more). Resolves once the letter is durable.
   */
  putDeadLetter(letter: NewDeadLetter): Promise<DeadLetter>;
  /** The letters that match, in id order. */
  listDeadLetters(filter: DeadLetterFilter): Promise<DeadLetter[]>;
  /** One letter, undefined when there is none with that id. */
  getDeadLetter(id: number): Promise<DeadLetter | undefined>;
  /** Records a failed attempt to deliver an open letter again (a closed one is left as it is). */
  recordDeadLetterAttempt(
    id: number,
    attempt: { attempts: number; lastError: string; at: number },
  ): Promise<void>;
  /**
   * Closes an open letter: `retried` (delivered again) or `skipped`, when and by whom. False, and nothing
   * changed, when it was not open (someone else decided first).
   */
  closeDeadLetter(
    id: number,
    decision: { state: 'retried' | 'skipped'; at: number; by: string },
  ): Promise<boolean>;
  /** How many open letters each subscriber has (subscribers without any are left out). */
  countOpenDeadLetters(): Promise<Map<string, number>>;
}

/** A lease as the store holds it: who holds it, since when, until when unless renewed. */
export interface Lease {
  name: string;
  /** The owner holding it (for the relay, a process id: host:pid:random, see support/process-id.ts). */
  holder: string;
  /** When the holder took it, in ms since the epoch. */
  since: number;
  /** When it lapses unless renewed, in ms since the epoch. */
  expiresAt: number;
  /**
   * Grows every time the lease changes holder (and whenever a holder takes it again after losing it): whatever a
   * holder writes with its fencing number (see LeaseFence) is refused once someone has taken the lease since.
   */
  fencing: number;
  /** What the holder said about itself (its address, its roles), at most MAX_LEASE_PAYLOAD_BYTES of UTF-8. */
  payload: string;
}

/** What acquireLease answers: whether the caller holds the lease now, and the lease as it stands. */
export interface LeaseGrant {
  held: boolean;
  /** The lease after the call; undefined only when nobody holds it (never when `held`). */
  lease: Lease | undefined;
}

/** A lease and fencing number a write is made under (see EventStore.saveCheckpoint). */
export interface LeaseFence {
  lease: string;
  fencing: number;
}

/**
 * Named leases kept in the store: at most one owner holds a lease at a time (one active relay per store). An
 * owner takes a lease, keeps it by calling acquireLease again well within `ttlMs` (the relay renews every third
 * of it), and loses it when it stops renewing for `ttlMs`, releases it, or dies. Time is the store's: PostgreSQL's
 * `now()`; SQLite's and MongoDB's leases use the clock of the process that writes them (right on one machine, and
 * across machines whose clocks agree to well within the ttl).
 *
 * PostgreSQL backs each lease it gives with a session advisory lock on a connection of its own, so that the death
 * of the holder (kill -9, a lost connection) frees the lease at once; SQLite takes over a lease whose holder was a
 * process of this machine that is gone (pid and start time), without waiting for its expiry; MongoDB waits for the
 * expiry. Tested by the contract (leases.contract.ts).
 */
export interface LeaseStore {
  /**
   * Takes the lease for `owner`, or renews it when `owner` holds it already, for `ttlMs` from now. Answers
   * `held: false` and the lease as it stands when another owner holds it. Throws ValidationError for a payload
   * above MAX_LEASE_PAYLOAD_BYTES or a ttl that is not a positive whole number of milliseconds.
   */
  acquireLease(name: string, owner: string, ttlMs: number, payload?: string): Promise<LeaseGrant>;
  /** Gives the lease up at once when `owner` holds it (another may take it without waiting); else does nothing. */
  releaseLease(name: string, owner: string): Promise<void>;
  /** Every lease held now (not lapsed, not released), in name order. */
  listLeases(): Promise<Lease[]>;
  /**
   * Calls `listener` with the lease's name when this store instance learns, between renewals, that a lease it
   * gave is lost (PostgreSQL: its lock connection dropped). Stores without such news never call it: their holders
   * learn of a loss from the next renewal. Returns an unsubscribe function.
   */
  onLeaseLost(listener: (name: string) => void): () => void;
}

/**
 * A subscriber's live delivery paused in every process that delivers it, by the one process that replays or
 * rebuilds it (subscriber/pause.ts). Only one pause per subscriber is in force at a time; it lasts until its
 * holder ends it or stops renewing it (`expiresAt`: a holder that died does not pause the others for ever).
 * Times are ms since the epoch by the clock of the process that wrote them: the processes' clocks must agree to
 * well within the pause's lifetime (one machine, or NTP).
 */
export interface SubscriberPause {
  /** "projector:NAME" or "saga:NAME". */
  subscriber: string;
  /** The process that paused it (see subscriber/process-id.ts). */
  holder: string;
  /** What for: "replay" or "rebuild". */
  reason: string;
  since: number;
  /** After this the pause is void. */
  expiresAt: number;
}

/** What one process delivering a subscriber last said about itself (its heartbeat). */
export interface DelivererReport {
  subscriber: string;
  /** The process. */
  deliverer: string;
  /** The holder of the pause it honours, once it has stopped delivering for it; undefined while it delivers. */
  pausedFor: string | undefined;
  /** When it said so. */
  at: number;
}

/** Pauses of subscribers' live delivery, and what each delivering process says of itself (see SubscriberPause). */
export interface SubscriberPauses {
  /**
   * Pauses `pause.subscriber` for `pause.holder`, unless another holder's pause is in force (`expiresAt` not
   * before `pause.since`). Answers the pause in force afterwards: this one when it was taken (a holder may take
   * its own again), the other holder's when it was refused.
   */
  takePause(pause: SubscriberPause): Promise<SubscriberPause>;
  /** Moves the holder's pause's expiry; false, and nothing changed, when it holds no pause of the subscriber. */
  renewPause(subscriber: string, holder: string, expiresAt: number): Promise<boolean>;
  /** Ends the holder's pause of the subscriber (nothing when it holds none). */
  endPause(subscriber: string, holder: string): Promise<void>;
  /** The pause stored for the subscriber, expired or not; undefined when there is none. */
  readPause(subscriber: string): Promise<SubscriberPause | undefined>;
  /** Records what a deliverer says of itself, replacing what it said before. */
  reportDeliverer(report: DelivererReport): Promise<void>;
  /** Forgets a deliverer of the subscriber (it stopped delivering). */
  forgetDeliverer(subscriber: string, deliverer: string): Promise<void>;
  /** What every deliverer of the subscriber last said, stale reports included. */
  listDeliverers(subscriber: string): Promise<DelivererReport[]>;
}

/** A live process of the runtime, as the process registry holds it. */
export interface ProcessEntry {
  /** Unique among live processes: `host:pid:random` (support/process-id.ts). */
  id: string;
  /** Its roles ("projectors", "sagas", …). */
  roles: string[];
  /** Live until then (ms since the epoch), unless it beats again. */
  expiresAt: number;
}

/** Who holds one partition of a subscriber group, and until when. */
export interface PartitionClaim {
  /** The subscriber ("projector:NAME", "saga:NAME"). */
  group: string;
  partition: number;
  owner: string;
  /** Held until then (ms since the epoch), unless renewed; 0 once released. */
  expiresAt: number;
  /** Grows by one each time the partition changes hands: a fencing token. */
  epoch: number;
}

/**
 * The process registry and partition claims, kept in the store that every process shares (see
 * subscriber/claims.ts): each process beats its registry entry and claims a share of each subscriber's
 * partitions; a claim not renewed before it expires may be taken by another process. Times are ms since the
 * epoch, from the caller's clock (the processes' clocks must agree to well within a claim's lifetime).
 */
export interface PartitionClaims {
  /** Registers or refreshes `entry`; answers every process live at `now` (this one included), by id. */
  beatProcess(entry: ProcessEntry, now: number): Promise<ProcessEntry[]>;
  /** Leaves the registry (a process that stops). */
  removeProcess(id: string): Promise<void>;
  /**
   * For each partition: `owner` holds it until `expiresAt` when nobody held it, its claim expired at `now`, or
   * `owner` held it already (a renewal). Atomic per partition: of two processes claiming one, one gets it.
   * Answers the partitions `owner` holds now, in order.
   */
  claimPartitions(
    group: string,
    owner: string,
    partitions: readonly number[],
    now: number,
    expiresAt: number,
  ): Promise<number[]>;
  /** Gives up `owner`'s claims on these partitions (others may take them at once); others' are left alone. */
  releasePartitions(group: string, owner: string, partitions: readonly number[]): Promise<void>;
  /** The claims of `group`, or of every group, expired ones included, by group and partition. */
  listClaims(group?: string): Promise<PartitionClaim[]>;
}

/** A command the command handler decided, as the decision log takes it (see AppendRequest.decision). */
export interface CommandDecision {
  /** The command book as the command handler received it, encoded (evented.CommandBook). */
  command: Uint8Array;
  /** Its first page's type URL. */
  commandType: string;
  /** The aggregate's next sequence in the state it was decided on (its events 0 to decidedOn - 1). */
  decidedOn: number;
  /** When, in ms since the epoch. */
  at: number;
  correlationId: string;
  commandId: string;
}

/** What became of a decided command: accepted with `eventCount` events (from `decidedOn`), or refused. */
export type CommandOutcome =
  | { outcome: 'accepted'; eventCount: number }
  | { outcome: 'refused'; errorCode: number; errorMessage: string };

/** A decision logged outside an append: a refusal, or an acceptance that wrote nothing. */
export type NewLoggedCommand = AggregateRef & CommandDecision & CommandOutcome;

/** A logged decision, as stored. */
export type LoggedCommand = NewLoggedCommand & {
  /**
   * Given by the store, increasing in the order decisions were logged; never reused. Accepted commands' ids follow
   * the commit order of their appends; a decision logged by logCommand while others commit may take an id below
   * one already readable (a reader paging a live log by afterId can miss it until it reads again from the start).
   */
  id: number;
};

export interface CommandLogFilter {
  domain?: string | undefined;
  /** Only this aggregate's (with `domain`). */
  root?: Uint8Array | undefined;
  /** Only decisions at or after this time (ms since the epoch). */
  since?: number | undefined;
  /** Decisions with an id greater than this (for paging). */
  afterId?: number | undefined;
  /** At most this many, the first ones. */
  limit?: number | undefined;
  /** Only the last this many (still returned in id order). */
  last?: number | undefined;
}

/**
 * The decision log (`commandLog: true`): every command business logic accepted or refused, with the state it
 * was decided on and its outcome, kept in the store beside the events. Accepted commands are logged by append
 * (AppendRequest.decision), in the events' transaction; the rest by logCommand.
 */
export interface CommandLog {
  /** Logs a decision that appended nothing. Resolves once it is durable. */
  logCommand(entry: NewLoggedCommand): Promise<void>;
  /** The decisions that match, in id order. */
  readCommandLog(filter: CommandLogFilter): Promise<LoggedCommand[]>;
  /** How many decisions match (`limit` and `last` aside). */
  countCommandLog(filter: CommandLogFilter): Promise<number>;
}
