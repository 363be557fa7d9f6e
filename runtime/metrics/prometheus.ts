import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { COMMAND_OUTCOMES, type RuntimeMetrics, type SubscriberKind } from './port.js';

/**
 * The runtime's metrics in Prometheus's terms (prom-client), in a registry of this runtime's own (several
 * runtimes in one process, as in tests, do not mix). What the services report as it happens is counted here;
 * what is cheap to read when Prometheus asks (the store's head, the relay's and each subscriber's position and
 * lag, open dead letters) is read then, once per scrape (see `ScrapeSources`).
 *
 * Each process exports its own: Prometheus tells them apart by the target it scraped (its `instance` label), so
 * no label here names the process.
 */

/** What is read at each scrape; every part may be missing in a process whose roles do not hold it. */
export interface ScrapeSources {
  /** The store's highest position. */
  head(): Promise<number>;
  /** The relay of this process: the last position the broker confirmed. */
  relay(): { checkpoint: number } | undefined;
  subscribers(): readonly ScrapedSubscriber[];
  /** Open dead letters, by `kind:name` (e.g. "projector:accounts"). */
  openDeadLetters(): Promise<ReadonlyMap<string, number>>;
}

export interface ScrapedSubscriber {
  kind: SubscriberKind;
  name: string;
  /** Every event up to this position is handled. */
  checkpoint: number;
  /** Events after the checkpoint already handled (a batch in progress). */
  deliveredPastCheckpoint: number;
  /** Events delivered since this process started, and failed calls. */
  delivered: number;
  failed: number;
}

/** The label a domain gets: a configured domain is itself; any other (a typo, an attack) is "other". */
export const domainLabel = (domains: readonly string[]): ((domain: string) => string) => {
  const known = new Set(domains);
  return (domain) => (known.has(domain) ? domain : 'other');
};

/**
 * Up to this many domains, every outcome of every domain is exported from the start (at 0), so that rate() and
 * increase() see the first command; beyond, a series appears with its first command (a runtime may serve up to
 * MAX_DOMAINS, and 7 series each would be too many to export for nothing).
 */
export const PRE_INITIALISED_DOMAINS = 100;

/** Command latency: from 1 ms to 10 s (business logic may take up to commandHandler.businessLogicTimeoutMs). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A snapshot is shared by the gauges of one scrape (their collect() all run while it is being read). */
const SNAPSHOT_REUSE_MS = 100;

interface Snapshot {
  head: number | undefined;
  relay: { checkpoint: number } | undefined;
  subscribers: readonly ScrapedSubscriber[];
  deadLetters: ReadonlyMap<string, number>;
}

export interface PrometheusMetrics {
  readonly metrics: RuntimeMetrics;
  readonly registry: Registry;
  /** What each scrape reads; set once the runtime's services exist (the relay's gauges only if it has one). */
  observe(sources: ScrapeSources): void;
}

export const createPrometheusMetrics = (options: {
  /** The configured domains: the only values of the `domain` label (others are "other"). */
  domains: readonly string[];
  /** Node's own metrics (CPU, memory, event loop lag, GC): on unless said otherwise. */
  defaultMetrics?: boolean;
}): PrometheusMetrics => {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const domain = domainLabel(options.domains);

  let sources: ScrapeSources | undefined;
  let last: { at: number; snapshot: Promise<Snapshot> } | undefined;
  const snapshot = (): Promise<Snapshot> => {
    const now = Date.now();
    if (last !== undefined && now - last.at < SNAPSHOT_REUSE_MS) return last.snapshot;
    last = { at: now, snapshot: read(sources) };
    return last.snapshot;
  };

  const commands = new Counter({
    name: 'evented_commands_total',
    help: 'Commands (and Records) handled, by domain and outcome',
    labelNames: ['domain', 'outcome'],
    registers,
  });
  const commandSeconds = new Histogram({
    name: 'evented_command_duration_seconds',
    help: 'Time to handle a command, retries and the synchronous projectors and sagas included',
    labelNames: ['domain', 'outcome'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const businessLogicSeconds = new Histogram({
    name: 'evented_business_logic_duration_seconds',
    help: "Time business logic took to decide on one command (each retry's decision counts)",
    labelNames: ['domain'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const conflicts = new Counter({
    name: 'evented_command_conflicts_total',
    help: 'Appends that lost a race with another writer (optimistic concurrency)',
    labelNames: ['domain'],
    registers,
  });
  const retries = new Counter({
    name: 'evented_command_retries_total',
    help: 'Commands decided again after a conflict or on a state another process had moved past',
    labelNames: ['domain'],
    registers,
  });
  const appends = new Counter({
    name: 'evented_appends_total',
    help: 'Appends committed to the store by the command handler',
    labelNames: ['domain'],
    registers,
  });
  const eventsAppended = new Counter({
    name: 'evented_events_appended_total',
    help: 'Events committed to the store by the command handler',
    labelNames: ['domain'],
    registers,
  });
  const replayed = new Gauge({
    name: 'evented_subscriber_replay_events_replayed',
    help: 'Events replayed so far by the replay or rebuild in progress (or the last one)',
    labelNames: ['kind', 'subscriber'],
    registers,
  });
  const toReplay = new Gauge({
    name: 'evented_subscriber_replay_events_to_replay',
    help: 'Events the replay or rebuild in progress (or the last one) has to replay in all',
    labelNames: ['kind', 'subscriber'],
    registers,
  });

  // Read at each scrape.
  // A gauge without labels always has a value: NaN ("no value") says the store did not answer this time.
  new Gauge({
    name: 'evented_store_head_position',
    help: "The store's highest global position",
    registers,
    async collect() {
      const { head } = await snapshot();
      this.set(head ?? Number.NaN);
    },
  });
  /** The relay's gauges, in a process that runs the relay only (observe() knows). */
  const relayGauges = (): void => {
    new Gauge({
      name: 'evented_relay_published_position',
      help: "The last global position this process's relay published (the broker confirmed)",
      registers,
      async collect() {
        const { relay } = await snapshot();
        this.set(relay?.checkpoint ?? Number.NaN);
      },
    });
    new Gauge({
      name: 'evented_relay_lag_events',
      help: "Events in the store not yet published by this process's relay (store head minus published position)",
      registers,
      async collect() {
        const { head, relay } = await snapshot();
        this.set(
          relay !== undefined && head !== undefined ? Math.max(head - relay.checkpoint, 0) : Number.NaN,
        );
      },
    });
  };
  const perSubscriber = (
    name: string,
    help: string,
    valueOf: (subscriber: ScrapedSubscriber, state: Snapshot) => number | undefined,
  ): void =>
    void new Gauge({
      name,
      help,
      labelNames: ['kind', 'subscriber'],
      registers,
      async collect() {
        const state = await snapshot();
        this.reset();
        for (const subscriber of state.subscribers) {
          const value = valueOf(subscriber, state);
          if (value !== undefined) this.set({ kind: subscriber.kind, subscriber: subscriber.name }, value);
        }
      },
    });
  const perSubscriberCount = (
    name: string,
    help: string,
    valueOf: (subscriber: ScrapedSubscriber) => number,
  ): void =>
    void new Counter({
      name,
      help,
      labelNames: ['kind', 'subscriber'],
      registers,
      async collect() {
        const state = await snapshot();
        this.reset();
        for (const subscriber of state.subscribers) {
          this.inc({ kind: subscriber.kind, subscriber: subscriber.name }, valueOf(subscriber));
        }
      },
    });
  perSubscriber(
    'evented_subscriber_position',
    "Every event up to this global position is handled by the subscriber (this process's partitions)",
    (subscriber) => subscriber.checkpoint,
  );
  perSubscriber(
    'evented_subscriber_lag_events',
    "Events not yet handled by the subscriber (this process's partitions): head minus what it handled",
    (subscriber, state) =>
      state.head === undefined
        ? undefined
        : Math.max(state.head - subscriber.checkpoint - subscriber.deliveredPastCheckpoint, 0),
  );
  perSubscriber(
    'evented_subscriber_dead_letters_open',
    'Open dead letters of the subscriber in the store (every process)',
    (subscriber, state) => state.deadLetters.get(`${subscriber.kind}:${subscriber.name}`) ?? 0,
  );
  perSubscriberCount(
    'evented_subscriber_deliveries_total',
    'Events handed to the subscriber by this process',
    (subscriber) => subscriber.delivered,
  );
  perSubscriberCount(
    'evented_subscriber_failures_total',
    'Calls to the subscriber that failed (an error or a timeout; a subscriber that is down is waited for)',
    (subscriber) => subscriber.failed,
  );

  if (options.domains.length <= PRE_INITIALISED_DOMAINS) {
    for (const name of options.domains) {
      for (const outcome of COMMAND_OUTCOMES) commands.inc({ domain: name, outcome }, 0);
    }
  }

  return {
    registry,
    observe(given) {
      if (sources === undefined && given.relay() !== undefined) relayGauges();
      sources = given;
    },
    metrics: {
      commandHandled(name, outcome, seconds) {
        const labels = { domain: domain(name), outcome };
        commands.inc(labels);
        commandSeconds.observe(labels, seconds);
      },
      businessLogicCalled: (name, seconds) => businessLogicSeconds.observe({ domain: domain(name) }, seconds),
      conflicted: (name) => conflicts.inc({ domain: domain(name) }),
      retried: (name) => retries.inc({ domain: domain(name) }),
      appended(name, events) {
        const labels = { domain: domain(name) };
        appends.inc(labels);
        eventsAppended.inc(labels, events);
      },
      replayProgress(kind, subscriber, done, total) {
        replayed.set({ kind, subscriber }, done);
        toReplay.set({ kind, subscriber }, total);
      },
    },
  };
};

/** One scrape's view: a store that cannot answer leaves out what needs it, not the whole scrape. */
const read = async (sources: ScrapeSources | undefined): Promise<Snapshot> => {
  if (sources === undefined) {
    return { head: undefined, relay: undefined, subscribers: [], deadLetters: new Map() };
  }
  const subscribers = sources.subscribers();
  const [head, deadLetters] = await Promise.all([
    sources.head().catch(() => undefined),
    subscribers.length === 0
      ? new Map<string, number>()
      : sources.openDeadLetters().catch(() => new Map<string, number>()),
  ]);
  return { head, relay: sources.relay(), subscribers, deadLetters };
};
