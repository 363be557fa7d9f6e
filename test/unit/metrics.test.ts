import { describe, expect, it } from 'vitest';
import { configSchema, isLoopbackHost } from '../../runtime/config/schema.js';
import {
  BusinessFailure,
  BusinessRejection,
  ConcurrencyConflictError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from '../../runtime/errors/index.js';
import type { CommandHandler } from '../../runtime/command/handler.js';
import { measuredCommandHandler, type CommandCounts } from '../../runtime/metrics/command.js';
import { noMetrics } from '../../runtime/metrics/port.js';
import {
  createPrometheusMetrics,
  PRE_INITIALISED_DOMAINS,
  type ScrapeSources,
} from '../../runtime/metrics/prometheus.js';
import { startMetricsServer } from '../../runtime/metrics/server.js';
import { checkPortsFree } from '../../runtime/up/ports.js';
import type {
  CommandBook,
  SynchronousProcessingResponse,
} from '../../runtime/protocol/gen/evented/evented.js';
import { commandBook, coverOf, forced, payload } from '../helpers/books.js';
import { occupiedPort } from '../helpers/ports.js';

/**
 * The metrics module: what each command's outcome is counted as, which labels a series may carry, what a scrape
 * reads, and the `metrics` section of evented.yaml.
 */

const root = new Uint8Array(16).fill(7);
const commandFor = (domain: string): CommandBook => commandBook(coverOf(domain, root), payload());
const stored = (events: number): SynchronousProcessingResponse => ({
  books: [
    {
      cover: coverOf('account', root),
      snapshot: undefined,
      pages: Array.from({ length: events }, () => forced()),
    },
  ],
  projections: [],
  commands: [],
});

/** A handler whose next answers are `script`'s, in order: a response, or an error to throw. */
const scripted = (script: (SynchronousProcessingResponse | Error)[]): CommandHandler => {
  const next = async (): Promise<SynchronousProcessingResponse> => {
    const answer = script.shift()!;
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { handle: next, record: next };
};

/** The lines of the exposition whose metric is `name`, without the comments. */
const linesOf = (text: string, name: string): string[] =>
  text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

describe('measuredCommandHandler', () => {
  it('counts every outcome under its name, in the domain of the command, and the events appended', async () => {
    const prometheus = createPrometheusMetrics({ domains: ['account'], defaultMetrics: false });
    const counts: CommandCounts = { commandsHandled: 0, eventsAppended: 0 };
    const handler = measuredCommandHandler(
      scripted([
        stored(2),
        stored(0),
        new BusinessRejection('insufficient funds', 9),
        new ConcurrencyConflictError('kept changing', 3, 4),
        new ValidationError('no cover'),
        new NotFoundError('no business logic'),
        new UnavailableError('business logic is down'),
        new BusinessFailure('returned an invalid book'),
        new Error('a bug'),
      ]),
      counts,
      prometheus.metrics,
    );
    for (let i = 0; i < 9; i += 1) await handler.handle(commandFor('account')).catch(() => undefined);

    const text = await prometheus.registry.metrics();
    expect(linesOf(text, 'evented_commands_total')).toEqual([
      'evented_commands_total{domain="account",outcome="ok"} 2',
      'evented_commands_total{domain="account",outcome="rejected"} 1',
      'evented_commands_total{domain="account",outcome="conflict-aborted"} 1',
      'evented_commands_total{domain="account",outcome="invalid"} 1',
      'evented_commands_total{domain="account",outcome="not-found"} 1',
      'evented_commands_total{domain="account",outcome="unavailable"} 1',
      'evented_commands_total{domain="account",outcome="failed"} 2',
    ]);
    expect(linesOf(text, 'evented_command_duration_seconds_count')).toHaveLength(7);
    // Only an append that wrote something counts as one.
    expect(linesOf(text, 'evented_appends_total')).toEqual(['evented_appends_total{domain="account"} 1']);
    expect(linesOf(text, 'evented_events_appended_total')).toEqual([
      'evented_events_appended_total{domain="account"} 2',
    ]);
    expect(counts).toEqual({ commandsHandled: 9, eventsAppended: 2 });
  });

  it('counts refused commands as handled with metrics off too (the live view reads the same counts)', async () => {
    const counts: CommandCounts = { commandsHandled: 0, eventsAppended: 0 };
    const handler = measuredCommandHandler(scripted([new NotFoundError('x')]), counts, undefined);
    await expect(handler.handle(commandFor('account'))).rejects.toThrow('x');
    expect(counts).toEqual({ commandsHandled: 1, eventsAppended: 0 });
  });

  it('labels a domain that is not configured "other": whatever callers send, the series stay few', async () => {
    const prometheus = createPrometheusMetrics({ domains: ['account'], defaultMetrics: false });
    const handler = measuredCommandHandler(
      scripted([new NotFoundError('x'), new NotFoundError('x'), new ValidationError('x')]),
      { commandsHandled: 0, eventsAppended: 0 },
      prometheus.metrics,
    );
    for (const domain of ['typo-1', 'typo-2', ''])
      await handler.handle(commandFor(domain)).catch(() => undefined);

    const text = await prometheus.registry.metrics();
    expect(linesOf(text, 'evented_commands_total').filter((line) => !line.includes('"account"'))).toEqual([
      'evented_commands_total{domain="other",outcome="not-found"} 2',
      'evented_commands_total{domain="other",outcome="invalid"} 1',
    ]);
    expect(text).not.toContain('typo');
  });

  it('exports every outcome at 0 from the start for a few domains; for very many, only what happened', async () => {
    const few = createPrometheusMetrics({ domains: ['account', 'ledger'], defaultMetrics: false });
    expect(linesOf(await few.registry.metrics(), 'evented_commands_total')).toHaveLength(14);
    const domains = Array.from({ length: PRE_INITIALISED_DOMAINS + 1 }, (_, i) => `domain-${i}`);
    const many = createPrometheusMetrics({ domains, defaultMetrics: false });
    many.metrics.commandHandled('domain-7', 'ok', 0.01);
    expect(linesOf(await many.registry.metrics(), 'evented_commands_total')).toEqual([
      'evented_commands_total{domain="domain-7",outcome="ok"} 1',
    ]);
  });

  it('with metrics off, still counts what the live view shows, and the no-op sink accepts every call', async () => {
    const counts: CommandCounts = { commandsHandled: 0, eventsAppended: 0 };
    const handler = measuredCommandHandler(scripted([stored(3), stored(1)]), counts, undefined);
    await handler.handle(commandFor('account'));
    await handler.record({ cover: coverOf('account', root), snapshot: undefined, pages: [forced()] });
    expect(counts).toEqual({ commandsHandled: 2, eventsAppended: 4 });
    expect(() => {
      noMetrics.commandHandled('account', 'ok', 1);
      noMetrics.replayProgress('projector', 'accounts', 1, 2);
    }).not.toThrow();
  });
});

describe('what a scrape reads', () => {
  const sources = (change: Partial<ScrapeSources> = {}): ScrapeSources => ({
    head: async () => 100,
    relay: () => ({ checkpoint: 90 }),
    subscribers: () => [
      {
        kind: 'projector',
        name: 'accounts',
        checkpoint: 60,
        deliveredPastCheckpoint: 5,
        delivered: 65,
        failed: 2,
      },
      {
        kind: 'saga',
        name: 'transfers',
        checkpoint: 100,
        deliveredPastCheckpoint: 0,
        delivered: 100,
        failed: 0,
      },
    ],
    openDeadLetters: async () => new Map([['projector:accounts', 3]]),
    ...change,
  });

  it("the store's head, the relay's and each subscriber's position and lag, their counts and open dead letters", async () => {
    const prometheus = createPrometheusMetrics({ domains: [], defaultMetrics: false });
    prometheus.observe(sources());
    const text = await prometheus.registry.metrics();
    expect(linesOf(text, 'evented_store_head_position')).toEqual(['evented_store_head_position 100']);
    expect(linesOf(text, 'evented_relay_published_position')).toEqual([
      'evented_relay_published_position 90',
    ]);
    expect(linesOf(text, 'evented_relay_lag_events')).toEqual(['evented_relay_lag_events 10']);
    expect(linesOf(text, 'evented_subscriber_lag_events')).toEqual([
      'evented_subscriber_lag_events{kind="projector",subscriber="accounts"} 35',
      'evented_subscriber_lag_events{kind="saga",subscriber="transfers"} 0',
    ]);
    expect(linesOf(text, 'evented_subscriber_position')).toEqual([
      'evented_subscriber_position{kind="projector",subscriber="accounts"} 60',
      'evented_subscriber_position{kind="saga",subscriber="transfers"} 100',
    ]);
    expect(linesOf(text, 'evented_subscriber_deliveries_total')).toEqual([
      'evented_subscriber_deliveries_total{kind="projector",subscriber="accounts"} 65',
      'evented_subscriber_deliveries_total{kind="saga",subscriber="transfers"} 100',
    ]);
    expect(linesOf(text, 'evented_subscriber_failures_total')).toContain(
      'evented_subscriber_failures_total{kind="projector",subscriber="accounts"} 2',
    );
    expect(linesOf(text, 'evented_subscriber_dead_letters_open')).toEqual([
      'evented_subscriber_dead_letters_open{kind="projector",subscriber="accounts"} 3',
      'evented_subscriber_dead_letters_open{kind="saga",subscriber="transfers"} 0',
    ]);
  });

  it('a store that does not answer leaves out what needs it, and the rest is still served', async () => {
    const prometheus = createPrometheusMetrics({ domains: ['account'], defaultMetrics: false });
    prometheus.observe(sources({ head: () => Promise.reject(new Error('database is locked')) }));
    const text = await prometheus.registry.metrics();
    // NaN: no value (prom-client writes it "Nan", which Prometheus reads as NaN).
    expect(linesOf(text, 'evented_store_head_position')).toEqual([
      expect.stringMatching(/^evented_store_head_position nan$/i),
    ]);
    expect(linesOf(text, 'evented_relay_lag_events')).toEqual([
      expect.stringMatching(/^evented_relay_lag_events nan$/i),
    ]);
    expect(linesOf(text, 'evented_subscriber_lag_events')).toEqual([]);
    expect(linesOf(text, 'evented_subscriber_position')).toHaveLength(2);
    expect(linesOf(text, 'evented_commands_total')).toHaveLength(7);
  });

  it('a process without the relay has no relay series at all (not a misleading 0)', async () => {
    const prometheus = createPrometheusMetrics({ domains: [], defaultMetrics: false });
    prometheus.observe(sources({ relay: () => undefined }));
    const text = await prometheus.registry.metrics();
    expect(text).not.toContain('evented_relay_');
    expect(linesOf(text, 'evented_store_head_position')).toEqual(['evented_store_head_position 100']);
  });

  it("replay progress, by subscriber; and Node's own metrics unless turned off", async () => {
    const prometheus = createPrometheusMetrics({ domains: [] });
    prometheus.metrics.replayProgress('projector', 'accounts', 4000, 10_000);
    const text = await prometheus.registry.metrics();
    expect(linesOf(text, 'evented_subscriber_replay_events_replayed')).toEqual([
      'evented_subscriber_replay_events_replayed{kind="projector",subscriber="accounts"} 4000',
    ]);
    expect(linesOf(text, 'evented_subscriber_replay_events_to_replay')).toEqual([
      'evented_subscriber_replay_events_to_replay{kind="projector",subscriber="accounts"} 10000',
    ]);
    expect(text).toContain('process_cpu_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('the metrics endpoint', () => {
  it('serves GET /metrics in Prometheus text format, and nothing else', async () => {
    const prometheus = createPrometheusMetrics({ domains: ['account'], defaultMetrics: false });
    const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: prometheus.registry });
    try {
      expect(server.url).toBe(`http://${server.address}/metrics`);
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      expect(await response.text()).toContain('evented_commands_total{domain="account",outcome="ok"} 0');
      expect((await fetch(server.url.replace('/metrics', '/'))).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it('a busy port is one line naming the address and the key to change', async () => {
    const port = await occupiedPort();
    const registry = createPrometheusMetrics({ domains: [], defaultMetrics: false }).registry;
    const start = startMetricsServer({ host: '127.0.0.1', port, registry });
    await expect(start).rejects.toThrow(UnavailableError);
    await expect(start).rejects.toThrow(
      `the metrics endpoint cannot listen on 127.0.0.1:${port}: the port is already in use`,
    );
    await expect(start).rejects.toMatchObject({ hint: expect.stringContaining('metrics.port') });
  });

  it('`evented up` checks its port with the others before starting anything', async () => {
    const port = await occupiedPort();
    const config = configSchema.parse({
      commandHandler: { port: 0 },
      queryHandler: { port: 0 },
      admin: { port: 0 },
      metrics: { port },
    });
    await expect(checkPortsFree(config)).rejects.toThrow(
      `port ${port} is already in use (metrics.port: 127.0.0.1:${port})`,
    );
  });
});

describe('the metrics section of evented.yaml', () => {
  it('is off without the section; `metrics: {}` serves on 127.0.0.1:1318', () => {
    expect(configSchema.parse({}).metrics).toBeUndefined();
    expect(configSchema.parse({ metrics: {} }).metrics).toEqual({
      enabled: true,
      host: '127.0.0.1',
      port: 1318,
      allowRemote: false,
    });
  });

  it('refuses a host other than loopback unless allowRemote says so explicitly', () => {
    const result = configSchema.safeParse({ metrics: { host: '0.0.0.0' } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({
      path: ['metrics', 'host'],
      message: expect.stringContaining('also set metrics.allowRemote: true'),
    });
    expect(configSchema.parse({ metrics: { host: '0.0.0.0', allowRemote: true } }).metrics?.host).toBe(
      '0.0.0.0',
    );
    expect(configSchema.parse({ metrics: { host: '0.0.0.0', enabled: false } }).metrics?.enabled).toBe(false);
  });

  it('knows loopback when it sees it', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '10.0.0.5', '::', 'example.com', '127.0.0.1.example.com'])
      expect(isLoopbackHost(host)).toBe(false);
  });
});
