import { describe, expect, it } from 'vitest';
import { formatStatus, problemsOf } from '../../cli/commands/status.js';
import { formatRanges } from '../../runtime/support/ranges.js';
import { parseSince } from '../../cli/commands/tail.js';
import { Writable } from 'node:stream';
import { formatDuration, formatProgress, progressReporter } from '../../cli/output/replay-progress.js';
import { formatTable } from '../../cli/output/table.js';
import type { DeadLetter, RuntimeStatus } from '../../runtime/protocol/gen/evented/evented.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';
import { parseAggregate, parseLetterId } from '../../cli/commands/dlq.js';
import { CliError, formatJsonError, UsageError } from '../../cli/errors.js';
import { formatLetter, formatLetterTable, formatOutcome } from '../../cli/output/dead-letters.js';
import { deadLetterView } from '../../runtime/protocol/json-views.js';

/** What the remote commands print, decided without a runtime: durations, progress, tables, health, letters. */

describe('tail --since', () => {
  const now = Date.parse('2026-11-29T08:00:00Z');
  it('takes durations back from now, and times as they are', () => {
    expect(parseSince('30s', now).toISOString()).toBe('2026-11-29T07:59:30.000Z');
    expect(parseSince('10m', now).toISOString()).toBe('2026-11-29T07:50:00.000Z');
    expect(parseSince('2h', now).toISOString()).toBe('2026-11-29T06:00:00.000Z');
    expect(parseSince('1d', now).toISOString()).toBe('2026-11-28T08:00:00.000Z');
    expect(parseSince('2026-11-29T07:00:00Z', now).toISOString()).toBe('2026-11-29T07:00:00.000Z');
  });
  it('says what it expected otherwise', () => {
    expect(() => parseSince('10 minutes')).toThrow(/expected a duration such as 30s, 10m, 2h, 1d/);
  });
});

describe('replay progress', () => {
  it('shows a bar, counts, the rate and the time left', () => {
    const line = formatProgress(
      {
        events: 25_000,
        total: 100_000,
        aggregates: 10,
        position: 25_010,
        eventsPerSecond: 50_000,
        etaMs: 1500,
        done: false,
      },
      { barWidth: 20 },
    );
    expect(line).toBe(
      '[#####---------------] 25,000/100,000 events  50,000 events/s  ETA 2s  (position 25010)',
    );
  });
  it('is full and says done at the end, even when events arrived during the replay', () => {
    const line = formatProgress(
      { events: 120, total: 100, aggregates: 3, position: 130, eventsPerSecond: 10, etaMs: 0, done: true },
      { barWidth: 10 },
    );
    expect(line).toBe('[##########] 120/120 events  10 events/s  done  (position 130)');
  });
  it('writes durations the way people read them', () => {
    expect(formatDuration(400)).toBe('1s');
    expect(formatDuration(61_000)).toBe('1m01s');
    expect(formatDuration(2 * 3_600_000 + 5 * 60_000)).toBe('2h05m');
  });
});

describe('replay progress on a terminal', () => {
  // Six-digit counts, a five-digit rate and a seven-digit position: what a large replay shows.
  const large = (events: number, done = false) => ({
    events,
    total: 1_234_567,
    aggregates: 100_000,
    position: 1_000_000 + events,
    eventsPerSecond: 71_881,
    etaMs: 15_000,
    done,
  });

  it('fits in one line less than the terminal is wide, whatever the counts', () => {
    for (const columns of [200, 120, 80, 60, 40, 30, 20]) {
      for (const events of [0, 123_456, 1_234_567]) {
        const line = formatProgress(large(events), { columns });
        expect({ columns, events, line, fits: line.length < columns }).toMatchObject({ fits: true });
      }
    }
    // wide enough: everything; at 80 columns: the bar, counts, rate and time left; narrower: counts and time left
    expect(formatProgress(large(123_456), { columns: 200 })).toBe(
      '[##----------------------] 123,456/1,234,567 events  71,881 events/s  ETA 15s  (position 1123456)',
    );
    expect(formatProgress(large(123_456), { columns: 80 })).toBe(
      '[##----------------------] 123,456/1,234,567 events  71,881 events/s  ETA 15s',
    );
    expect(formatProgress(large(123_456), { columns: 40 })).toBe('123,456/1,234,567 events  ETA 15s');
  });

  it('is redrawn in place on an 80-column terminal: no update ever reaches the last column', () => {
    const writes: string[] = [];
    const terminal = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          writes.push(chunk.toString());
          done();
        },
      }),
      { isTTY: true, columns: 80 },
    );
    const reporter = progressReporter(terminal);
    for (const events of [1, 99_999, 123_456, 999_999, 1_234_567]) reporter.update(large(events));
    reporter.finish(large(1_234_567, true));

    const drawn = writes
      .join('')
      .split('\r\x1b[2K')
      .filter((line) => line !== '');
    expect(drawn).toHaveLength(6);
    for (const line of drawn) expect(line.replace(/\n$/, '').length).toBeLessThan(80);
    expect(drawn.slice(0, -1).every((line) => !line.includes('\n'))).toBe(true);
  });
});

describe('status', () => {
  const status: RuntimeStatus = {
    name: 'bank',
    projectDir: '/work/bank',
    version: '0.1.0',
    head: 42,
    roles: ['command', 'query', 'relay', 'projectors', 'sagas', 'admin'],
    processId: 'box/100',
    consoleUrl: '',
    components: [
      { name: 'store', kind: 'sqlite', address: '/tmp/x.db', state: 'ok', detail: 'head at position 42' },
      {
        name: 'business logic account',
        kind: 'grpc',
        address: '127.0.0.1:1737',
        state: 'unreachable',
        detail: '',
      },
    ],
    subscribers: [
      {
        name: 'accounts',
        kind: 'projector',
        address: '127.0.0.1:1738',
        domains: ['account'],
        state: 'waiting',
        checkpoint: 40,
        deliveredPastCheckpoint: 0,
        lag: 2,
        delivered: 40,
        deadLettered: 0,
        lastError: 'UNAVAILABLE: connect ECONNREFUSED',
        partitionCount: 0,
        holders: [],
      },
    ],
  };

  it('names what is not healthy', () => {
    expect(problemsOf(status)).toEqual([
      'business logic account is unreachable',
      'projector accounts is waiting',
    ]);
    expect(problemsOf({ ...status, components: [status.components[0]!], subscribers: [] })).toEqual([]);
  });

  it('prints aligned tables', () => {
    expect(formatStatus(status)).toContain('bank (evented 0.1.0): store head at position 42');
    expect(formatStatus(status)).toMatch(/accounts\s+projector\s+waiting\s+40\s+2\s+40\s+0\s+UNAVAILABLE/);
    expect(formatTable(['A', 'BB'], [['xxx', 'y']])).toBe('A    BB\nxxx  y');
  });

  it('says which roles the process holds, and which subscribers other processes deliver to', () => {
    expect(formatStatus(status)).toMatch(
      /^bank \(evented 0\.1\.0\): store head at position 42\nroles: command, query, relay, projectors, sagas, admin\n\n/,
    );
    const admin = { ...status, roles: ['admin'], subscribers: [] };
    expect(formatStatus(admin)).toContain('roles: admin\n');
    expect(formatStatus(admin)).toMatch(/\n\nThe projectors and sagas run in other processes\.\n$/);
    const projectors = { ...status, roles: ['projectors', 'admin'] };
    expect(formatStatus(projectors)).toMatch(
      /accounts\s+projector\s+waiting[^\n]*\nThe sagas run in other processes\.\n$/,
    );
    // a runtime that predates roles held all six, and says nothing of them
    expect(formatStatus({ ...status, roles: [], subscribers: [] })).toMatch(
      /position 42\n\n[^]*\n\nNo projectors or sagas are configured\.\n$/,
    );
  });

  it("names the console's URL when the process answering serves it", () => {
    expect(formatStatus({ ...status, consoleUrl: 'http://127.0.0.1:1317/' })).toMatch(
      /\nroles: [^\n]*\nconsole: http:\/\/127\.0\.0\.1:1317\/\n\n/,
    );
    expect(formatStatus(status)).not.toContain('console:');
  });

  it('says whether the relay of this process publishes or stands by, and for whom; standing by is healthy', () => {
    const withRelay = (state: string, detail: string): RuntimeStatus => ({
      ...status,
      components: [status.components[0]!, { name: 'relay', kind: 'lease', address: '', state, detail }],
      subscribers: [],
    });
    const active = withRelay('ok', 'active (this process); published up to position 42');
    expect(formatStatus(active)).toMatch(/\nroles: [^\n]*\nrelay: active \(this process\)\n\n/);
    const standby = withRelay('standby', 'standby (held by 4242@web-1, since 2026-12-03T09:00:00.000Z)');
    expect(formatStatus(standby)).toContain(
      '\nrelay: standby (held by 4242@web-1, since 2026-12-03T09:00:00.000Z)\n',
    );
    expect(problemsOf(standby)).toEqual([]);
    expect(
      problemsOf(withRelay('retrying', 'active (this process); published up to position 42; x')),
    ).toEqual(['relay is retrying']);
    // No relay in this process (or a runtime without leases): no relay line.
    expect(formatStatus(status)).not.toContain('relay: ');
  });

  it('shows which process holds which partitions, this one marked', () => {
    const shared = {
      ...status.subscribers[0]!,
      state: 'live',
      lastError: '',
      partitionCount: 16,
      holders: [
        { process: 'box/100', partitions: [0, 1, 2, 3, 4, 9] },
        { process: 'box/200', partitions: [5, 6, 7, 8, 10] },
      ],
    };
    expect(formatStatus({ ...status, subscribers: [shared] })).toMatch(
      /PARTITIONS +LAST ERROR\naccounts .*box\/100 \(this\) 0-4,9; box\/200 5-8,10 *\n/,
    );
    expect(formatStatus({ ...status, subscribers: [{ ...shared, holders: [] }] })).toContain(
      'none of 16 held',
    );
    expect(formatRanges([3, 1, 2, 7, 9, 10])).toBe('1-3,7,9-10');
    expect(problemsOf({ ...status, components: [], subscribers: [{ ...shared, state: 'standby' }] })).toEqual(
      [],
    );
  });

  it('shows the events delivered past the position while a batch is in progress', () => {
    const delivering = {
      ...status.subscribers[0]!,
      state: 'live',
      checkpoint: 2300,
      deliveredPastCheckpoint: 29000,
      lag: 68700,
    };
    expect(formatStatus({ ...status, subscribers: [delivering] })).toMatch(
      /accounts\s+projector\s+live\s+2300 \+29000\s+68700\s+40\s/,
    );
  });
});

describe('dlq', () => {
  const letter: DeadLetter = {
    id: 7,
    subscriber: 'accounts',
    kind: 'projector',
    cover: { domain: 'account', root: { value: uuidToBytes('d61f5d97-7a51-4ac7-8fd5-6f0527e2f69d')! } },
    sequence: 2,
    position: 12,
    attempts: 5,
    lastError: 'INTERNAL: cannot take 13',
    state: 'open',
    createdAt: { seconds: 1_795_939_200, nanos: 0 },
    updatedAt: { seconds: 1_795_939_201, nanos: 0 },
    decidedAt: undefined,
    decidedBy: '',
  };

  it('reads ids and aggregates as the table prints them, and says what it expected otherwise', () => {
    expect(parseLetterId('12')).toBe(12);
    expect(parseLetterId('#12')).toBe(12);
    for (const bad of ['0', '-1', '1.5', 'twelve', '99999999999999999999']) {
      expect(() => parseLetterId(bad)).toThrow(`${bad}: expected a dead letter's id, a number such as 12`);
    }
    expect(parseAggregate('account/d61f5d97-7a51-4ac7-8fd5-6f0527e2f69d')).toEqual({
      domain: 'account',
      root: letter.cover!.root!.value,
    });
    expect(() => parseAggregate('account')).toThrow('--aggregate account: expected DOMAIN/UUID');
  });

  it('prints letters as a table and in full, and what a retry did', () => {
    const view = deadLetterView(letter);
    expect(view).toMatchObject({
      root: 'd61f5d97-7a51-4ac7-8fd5-6f0527e2f69d',
      createdAt: '2026-11-29T08:00:00.000Z',
    });
    expect(view).not.toHaveProperty('decidedBy');
    expect(formatLetterTable([view])).toBe(
      [
        'ID  SUBSCRIBER  KIND       AGGREGATE                                     SEQ  POSITION  STATE  ATTEMPTS  SET ASIDE                 LAST ERROR',
        '#7  accounts    projector  account/d61f5d97-7a51-4ac7-8fd5-6f0527e2f69d  2    12        open   5         2026-11-29T08:00:00.000Z  INTERNAL: cannot take 13',
      ].join('\n'),
    );
    expect(formatLetter(view, undefined)).toContain('  stored      (not in the store)');
    const skipped = deadLetterView({
      ...letter,
      state: 'skipped',
      decidedAt: { seconds: 1_795_939_300, nanos: 0 },
      decidedBy: 'ada@host pid 1',
    });
    expect(formatLetter(skipped, 'the event')).toContain(
      '  skipped     2026-11-29T08:01:40.000Z by ada@host pid 1\n',
    );
    expect(formatOutcome([skipped, { ...view, attempts: 6 }])).toBe(
      '#7  projector accounts  account/d61f5d97-7a51-4ac7-8fd5-6f0527e2f69d #2  skipped\n' +
        '#7  projector accounts  account/d61f5d97-7a51-4ac7-8fd5-6f0527e2f69d #2  failed again (attempt 6): INTERNAL: cannot take 13\n',
    );
  });

  it('writes an error as one JSON object with its hint and exit code', () => {
    const json = (err: unknown): unknown => JSON.parse(formatJsonError(err, { verbose: false }));
    expect(json(new UsageError('bad', 'try this'))).toEqual({
      error: { message: 'bad', hint: 'try this', code: 'USAGE', exitCode: 2 },
    });
    expect(json(new CliError('no runtime'))).toEqual({ error: { message: 'no runtime', exitCode: 1 } });
  });
});
