import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import type { Writable } from 'node:stream';
import type { ComponentState, EnvironmentEvent } from '../../runtime/index.js';
import type { renderUpView as RenderUpView } from '../ui/up.js';
import type { UpViewChoice, UpViewProps } from '../ui/UpView.js';
import type { ActivityReading } from '../ui/activity.js';
import { activityOf } from './up-activity.js';

/**
 * What `evented up` prints, from one stream of EnvironmentEvents, in one of three forms: the live ink view on
 * a terminal, one plain line per change otherwise, or one JSON object per line with --json. The three are
 * sinks of the same events, so they cannot disagree.
 */

export type UpOutputMode = 'ink' | 'plain' | 'json';

export interface UpSummary {
  name: string;
  commandHandler: string;
  queryHandler: string;
  admin: string;
  /** The URL Prometheus scrapes (the first instance's), when metrics are on. */
  metrics?: string | undefined;
  /** The web console's URL (the first instance's), when it is on. */
  console?: string | undefined;
  runtimeFile: string;
  /** With `up --instances N`: each instance and its servers (the addresses above are the first one's). */
  instances: { name: string; pid: number; servers: Record<string, string> }[];
}

export interface UpReporter {
  event(event: EnvironmentEvent): void;
  ready(summary: UpSummary): void;
  /** A line about the environment as a whole ("stopping…", "stopped"). */
  note(message: string): void;
  /** A reading of the runtime's counters (the live view shows rates from them; the other forms, nothing). */
  activity(reading: ActivityReading): void;
  close(): void;
}

/** The line `evented up` writes into a user process's log before starting it (runtime/up/processes.ts). */
const RUN_MARK = '--- evented up, ';

/**
 * The last `count` lines of a log (from its last 8 KiB), without the blank ones — this run's only: logs are
 * appended to, and each run of `up` starts its part with a RUN_MARK line, so what is before the last one is an
 * earlier run's (a process still starting would otherwise show the "listening" line of its previous life).
 */
export const lastLines = (path: string, count: number): string[] => {
  try {
    const size = statSync(path).size;
    const length = Math.min(size, 8192);
    const buffer = Buffer.alloc(length);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    const lines = buffer
      .toString('utf8')
      .split('\n')
      .map((line) => line.trimEnd());
    const mark = lines.map((line) => line.startsWith(RUN_MARK)).lastIndexOf(true);
    return lines
      .slice(mark + 1)
      .filter((line) => line !== '')
      .slice(-count);
  } catch {
    return [];
  }
};

const readyLine = (s: UpSummary): string =>
  s.instances.length === 0
    ? `${s.name} is ready: commands on ${s.commandHandler}, queries on ${s.queryHandler}, admin on ${s.admin}${s.metrics ? `, metrics on ${s.metrics}` : ''}${s.console ? `, console on ${s.console}` : ''}. Ctrl-C or \`evented down\` stops everything.`
    : `${s.name} is ready, ${s.instances.length} instances: ${s.instances.map(instanceSummary).join('; ')}. Ctrl-C or \`evented down\` stops everything.`;

/** "instance-2 commands on 127.0.0.1:1323, queries on …, admin on …" */
const instanceSummary = (instance: UpSummary['instances'][number]): string =>
  `${instance.name} ${['commands', 'queries', 'admin', 'metrics', 'console']
    .filter((label) => instance.servers[label] !== undefined)
    .map((label) => `${label} on ${instance.servers[label]!}`)
    .join(', ')}`;

export const createUpReporter = async (options: {
  mode: UpOutputMode;
  stdout: Writable;
  projectDir: string;
  project: string;
}): Promise<UpReporter> => {
  const { stdout, projectDir } = options;
  const shortPath = (path: string): string => {
    const rel = relative(projectDir, path);
    return rel.startsWith('..') ? path : rel;
  };
  if (options.mode === 'json') {
    const write = (value: object): void => void stdout.write(`${JSON.stringify(value)}\n`);
    return {
      // How to stop a component is for runtime.json, not for the reader of this stream.
      event: (event) =>
        write(
          event.type === 'component'
            ? { type: 'component', ...event.component, stop: undefined }
            : { ...event },
        ),
      ready: (summary) => write({ type: 'ready', ...summary }),
      note: (message) => write({ type: 'note', message }),
      activity: () => undefined,
      close: () => undefined,
    };
  }
  if (options.mode === 'plain') {
    const line = (text: string): void => void stdout.write(`${text}\n`);
    return {
      event(event) {
        if (event.type === 'choice') {
          const c = event.choice;
          line(`${c.concern}: ${c.chosen} (${c.why}; or ${c.instead})`);
        } else if (event.type === 'progress') line(event.message);
        else line(componentLine(event.component, shortPath));
      },
      ready: (summary) => line(readyLine(summary)),
      note: line,
      activity: () => undefined,
      close: () => undefined,
    };
  }
  // ink and react take a while to load: only when they draw.
  const { renderUpView } = await import('../ui/up.js');
  return inkReporter(options, renderUpView);
};

const componentLine = (c: ComponentState, shortPath: (path: string) => string): string => {
  const parts = [`${c.state.padEnd(8)} ${c.name}`];
  if (c.address) parts.push(c.address);
  if (c.state === 'failed' && c.detail) parts.push(`— ${c.detail}`);
  else if ((c.kind === 'process' || c.kind === 'instance') && c.state === 'ready' && c.log)
    parts.push(`(pid ${c.pid}, log ${shortPath(c.log)})`);
  if (c.kind === 'instance' && c.state === 'ready' && c.partitions !== undefined)
    parts.push(`partitions: ${c.partitions || 'none'}`);
  return parts.join('  ');
};

/** What the live view knows: the choices, each component as last reported, and the environment's status. */
export interface UpViewState {
  project: string;
  choices: UpViewChoice[];
  components: ComponentState[];
  /** What is happening now ("starting…", "stopping…"). */
  status?: string | undefined;
  /** The summary, once everything was ready. */
  ready?: string | undefined;
  /** The last two readings of the runtime's counters, the latest last. */
  readings?: ActivityReading[];
}

/**
 * The view's props from what it knows: each process with this run's last log lines; and the summary only while
 * it is true — once a component has failed after everything was ready, the footer says what stopped instead.
 */
export const viewProps = (state: UpViewState): UpViewProps => {
  const failed = state.components.filter((c) => c.state === 'failed');
  const broken = state.ready !== undefined && failed.length > 0;
  return {
    project: state.project,
    choices: [...state.choices],
    components: state.components.map((c) => ({
      ...c,
      lines:
        (c.kind === 'process' || c.kind === 'instance') && c.log
          ? lastLines(c.log, c.state === 'failed' ? 10 : 3)
          : undefined,
    })),
    status: state.status,
    ready: broken ? undefined : state.ready,
    problem: broken
      ? `not ready: ${failed.map((c) => c.name).join(', ')} stopped (see above); Ctrl-C or \`evented down\` stops the rest`
      : undefined,
    activity:
      state.readings !== undefined && state.readings.length > 0
        ? activityOf(state.readings.at(-2), state.readings.at(-1)!)
        : undefined,
  };
};

const inkReporter = (
  options: { stdout: Writable; project: string },
  renderUpView: typeof RenderUpView,
): UpReporter => {
  const choices: UpViewChoice[] = [];
  const components = new Map<string, ComponentState>();
  let status: string | undefined = 'starting…';
  let ready: string | undefined;
  const readings: ActivityReading[] = [];
  const props = (): UpViewProps =>
    viewProps({
      project: options.project,
      choices,
      components: [...components.values()],
      status,
      ready,
      readings,
    });
  const view = renderUpView({ stdout: options.stdout, props: props() });
  // Log lines change without events: redraw a few times a second while the view is open.
  const timer = setInterval(() => view.update(props()), 500);
  timer.unref();
  return {
    event(event) {
      if (event.type === 'choice') choices.push(event.choice);
      else if (event.type === 'progress') status = event.message;
      else components.set(event.component.name, event.component);
      view.update(props());
    },
    ready(summary) {
      status = undefined;
      ready = readyLine(summary);
      view.update(props());
    },
    note(message) {
      status = message;
      ready = undefined;
      view.update(props());
    },
    activity(reading) {
      readings.push(reading);
      if (readings.length > 2) readings.shift();
      view.update(props());
    },
    close() {
      clearInterval(timer);
      view.update(props());
      view.close();
    },
  };
};
