import { writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { createUpReporter, viewProps, type UpViewState } from '../../cli/output/up-reporter.js';
import { UpView, type UpViewComponent, type UpViewProps } from '../../cli/ui/UpView.js';
import { formatRate, type ActivityReading } from '../../cli/ui/activity.js';
import { activityOf } from '../../cli/output/up-activity.js';
import { readingOf } from '../../cli/output/up-activity.js';
import type { RuntimeStatus } from '../../runtime/protocol/gen/evented/evented.js';
import type { ComponentState } from '../../runtime/index.js';
import { tempDir } from '../helpers/tmp.js';

/** The live view of `evented up`, rendered as a terminal would show it, in its main states. */

const choices: UpViewProps['choices'] = [
  {
    concern: 'store',
    chosen: 'SQLite at .evented/events.db',
    why: 'the embedded default',
    instead: '--store postgres://…',
  },
  { concern: 'bus', chosen: 'in-process memory bus', why: 'the embedded default', instead: '--bus rabbitmq' },
];

const logic = (change: Partial<UpViewComponent> = {}): UpViewComponent => ({
  name: 'business-logic',
  kind: 'process',
  state: 'ready',
  address: '127.0.0.1:1737',
  pid: 4242,
  lines: ['account business logic listening on 127.0.0.1:1737'],
  ...change,
});
const handler = (state: UpViewComponent['state'], address?: string): UpViewComponent => ({
  name: 'command handler',
  kind: 'grpc',
  state,
  address,
});

const frame = (props: UpViewProps): string => {
  const view = render(createElement(UpView, props));
  const text = view.lastFrame() ?? '';
  view.unmount();
  return text;
};

describe('the evented up view', () => {
  it('while starting: the choices, each component with its state, and what is happening', () => {
    const text = frame({
      project: '/work/bank',
      choices,
      components: [logic({ state: 'starting', lines: [] }), handler('starting')],
      status: 'starting…',
    });

    expect(text).toContain('evented up /work/bank');
    expect(text).toMatch(
      /store\s+SQLite at \.evented\/events\.db \(the embedded default; or --store postgres:\/\/…\)/,
    );
    expect(text).toMatch(/bus\s+in-process memory bus/);
    expect(text).toMatch(/◌ starting\s+business-logic\s+127\.0\.0\.1:1737\s+pid 4242/);
    expect(text).toMatch(/◌ starting\s+command handler/);
    expect(text).toContain('starting…');
    expect(text).not.toContain('is ready');
  });

  it('all ready: addresses, the last lines of each process log, and the summary', () => {
    const text = frame({
      project: '/work/bank',
      choices,
      components: [logic(), handler('ready', '127.0.0.1:1313')],
      ready: 'bank is ready: commands on 127.0.0.1:1313, queries on 127.0.0.1:1314, admin on 127.0.0.1:1316.',
    });

    expect(text).toMatch(/● ready\s+business-logic\s+127\.0\.0\.1:1737/);
    expect(text).toContain('│ account business logic listening on 127.0.0.1:1737');
    expect(text).toMatch(/● ready\s+command handler\s+127\.0\.0\.1:1313/);
    expect(text).toContain('bank is ready: commands on 127.0.0.1:1313');
    expect(text).not.toContain('starting');
  });

  it('one failed: what failed, and the last lines of its log (up to ten)', () => {
    const lines = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
    const text = frame({
      project: '/work/bank',
      choices,
      components: [
        logic({
          state: 'failed',
          detail: 'process "business-logic" exited with code 1; its log: .evented/logs/business-logic.log',
          lines,
        }),
        handler('stopped'),
      ],
    });

    expect(text).toMatch(/✗ failed\s+business-logic/);
    expect(text).toContain(
      'process "business-logic" exited with code 1; its log: .evented/logs/business-logic.log',
    );
    expect(text.split('\n').map((l) => l.trim())).not.toContain('│ line 2');
    expect(text).toContain('│ line 3');
    expect(text).toContain('│ line 12');
    expect(text).toMatch(/○ stopped\s+command handler/);
  });
});

describe('the evented up view, from what evented up reports', () => {
  const summary =
    'bank is ready: commands on 127.0.0.1:1313, queries on 127.0.0.1:1314, admin on 127.0.0.1:1316.';
  /** A user process's log as `up` leaves it: appended to by every run, each run's part after its mark. */
  const log = (...lines: string[]): string => {
    const path = join(tempDir(), 'business-logic.log');
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
  const processState = (change: Partial<ComponentState>): ComponentState => ({
    name: 'business-logic',
    kind: 'process',
    state: 'ready',
    address: '127.0.0.1:1737',
    pid: 4242,
    ...change,
  });
  const state = (components: ComponentState[], more: Partial<UpViewState> = {}): UpViewState => ({
    project: '/work/bank',
    choices,
    components,
    ...more,
  });

  it("shows this run's log lines only, not an earlier run's", () => {
    const earlier = [
      '--- evented up, 2026-12-01T08:00:00.000Z: node src/business-logic.ts',
      'account business logic listening on 127.0.0.1:1737',
      'shutting down',
    ];
    const starting = log(...earlier, '--- evented up, 2026-12-02T09:00:00.000Z: node src/business-logic.ts');
    const text = frame(viewProps(state([processState({ state: 'starting', log: starting })])));
    expect(text).toMatch(/◌ starting\s+business-logic/);
    expect(text).not.toContain('listening');
    expect(text).not.toContain('shutting down');

    const started = log(
      ...earlier,
      '--- evented up, 2026-12-02T09:00:00.000Z: node src/business-logic.ts',
      'loading the read model',
    );
    const later = frame(viewProps(state([processState({ state: 'starting', log: started })])));
    expect(later).toContain('│ loading the read model');
    expect(later).not.toContain('listening');
  });

  it('once a process dies after everything was ready, the footer no longer says ready', () => {
    const path = log('--- evented up, 2026-12-02T09:00:00.000Z: node src/business-logic.ts', 'out of memory');
    const ready = state(
      [processState({ log: path }), { name: 'command handler', kind: 'grpc', state: 'ready' }],
      {
        ready: summary,
      },
    );
    expect(frame(viewProps(ready))).toContain('bank is ready');

    const died = state(
      [
        processState({
          log: path,
          state: 'failed',
          detail: 'was killed by SIGKILL; its log: business-logic.log',
        }),
        { name: 'command handler', kind: 'grpc', state: 'ready' },
      ],
      { ready: summary },
    );
    const text = frame(viewProps(died));
    expect(text).not.toContain('is ready');
    expect(text).toMatch(/✗ failed\s+business-logic/);
    expect(text).toContain('was killed by SIGKILL');
    expect(text).toContain('│ out of memory');
    expect(text).toContain('not ready: business-logic stopped');
  });
});

describe('the activity of the live view', () => {
  const reading = (
    at: number,
    commandsHandled: number,
    eventsAppended: number,
    lag = 0,
  ): ActivityReading => ({
    at,
    commandsHandled,
    eventsAppended,
    subscribers: [
      { kind: 'projector', name: 'accounts', lag },
      { kind: 'saga', name: 'transfers', lag: 0 },
    ],
  });
  const ready = (readings: ActivityReading[]): UpViewState => ({
    project: '/work/bank',
    choices,
    components: [{ name: 'command handler', kind: 'grpc', state: 'ready', address: '127.0.0.1:1313' }],
    ready: 'bank is ready: commands on 127.0.0.1:1313.',
    readings,
  });

  it('commands/s and events/s between the last two readings, and each subscriber with its lag', () => {
    const text = frame(viewProps(ready([reading(10_000, 100, 150), reading(12_000, 125, 200, 7)])));
    expect(text).toMatch(/12\.5 commands\/s\s+25 events\/s/);
    expect(text).toMatch(/projector accounts\s+lag 7/);
    expect(text).toMatch(/saga transfers\s+lag 0/);
  });

  it('updates as commands flow: the next reading moves the rates and the lag', () => {
    const first = frame(viewProps(ready([reading(0, 0, 0), reading(1000, 0, 0)])));
    expect(first).toMatch(/0 commands\/s\s+0 events\/s/);
    const busier = frame(viewProps(ready([reading(1000, 0, 0), reading(2000, 40, 80, 12)])));
    expect(busier).toMatch(/40 commands\/s\s+80 events\/s/);
    expect(busier).toMatch(/projector accounts\s+lag 12/);
  });

  it('with one reading, the rates are not known yet; before ready, no activity at all', () => {
    expect(frame(viewProps(ready([reading(0, 5, 5)])))).toMatch(/… commands\/s\s+… events\/s/);
    const starting = frame(viewProps({ ...ready([reading(0, 5, 5)]), ready: undefined }));
    expect(starting).not.toContain('commands/s');
  });

  it('a counter that went back (an instance restarted) counts from 0, never a negative rate', () => {
    expect(activityOf(reading(0, 500, 900), reading(1000, 20, 30))).toMatchObject({
      commandsPerSecond: 20,
      eventsPerSecond: 30,
    });
    expect(formatRate(1234.4)).toBe('1,234');
  });

  it('adds up the processes: their counts, and the largest lag any holding process sees', () => {
    const status = (commandsHandled: number, lags: [string, number][]): RuntimeStatus =>
      ({
        activity: { commandsHandled, eventsAppended: commandsHandled * 2 },
        subscribers: lags.map(([state, lag]) => ({ kind: 'projector', name: 'accounts', state, lag })),
      }) as unknown as RuntimeStatus;
    expect(
      readingOf(
        [
          status(10, [['live', 3]]),
          status(5, [['live', 8]]),
          status(1, [['standby', 900]]),
          { subscribers: [] } as unknown as RuntimeStatus,
        ],
        42,
      ),
    ).toEqual({
      at: 42,
      commandsHandled: 16,
      eventsAppended: 32,
      subscribers: [{ kind: 'projector', name: 'accounts', lag: 8 }],
    });
  });
});

describe('the ready line names the console', () => {
  const summary = {
    name: 'bank',
    commandHandler: '127.0.0.1:1313',
    queryHandler: '127.0.0.1:1314',
    admin: '127.0.0.1:1316',
    console: 'http://127.0.0.1:1317/',
    runtimeFile: '/work/bank/.evented/runtime.json',
    instances: [],
  };
  const printed = async (mode: 'plain' | 'json'): Promise<string> => {
    const chunks: string[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const reporter = await createUpReporter({ mode, stdout, projectDir: '/work/bank', project: 'bank' });
    reporter.ready(summary);
    reporter.close();
    return chunks.join('');
  };

  it('in plain lines, after the admin service; in --json, as `console`', async () => {
    expect(await printed('plain')).toContain(
      'bank is ready: commands on 127.0.0.1:1313, queries on 127.0.0.1:1314, admin on 127.0.0.1:1316, console on http://127.0.0.1:1317/. Ctrl-C',
    );
    const ready = (await printed('json')).split('\n').find((line) => line.includes('"ready"'))!;
    expect(JSON.parse(ready)).toMatchObject({ type: 'ready', console: 'http://127.0.0.1:1317/' });
  });
});
