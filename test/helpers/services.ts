import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'vitest';
import { findProgram } from '../../runtime/infra/rabbitmq/node-files.js';
import { repoRoot } from './paths.js';

/**
 * The one gate of every conditional test: what a test needs that this machine may not have (a service's URL, a
 * program, a language's toolchain), by name. A suite or test whose requirement is missing is skipped, and the
 * reason goes into its task's meta, which test/helpers/not-run-reporter.ts prints at the end of the run (so a
 * skip is never silent); when EVENTED_TEST_REQUIRE names the requirement (comma-separated, as .ci/run sets it),
 * it fails instead. Nothing else in test/ may skip: lint refuses it.skip, runIf, skipIf and context.skip there.
 *
 *   describeWith('postgres', 'postgres event store', (url) => { it(…) });
 *   itWith('consul', 'starts a local agent', async (consulBin) => { … });
 *   describeWithToolchain('go', 'the go template', () => (hasGo ? undefined : 'go is missing'), () => { … });
 */

/** Why a suite or test did not run, as kept in its meta for the reporter. */
export interface NotRun {
  /** The requirement's name, as EVENTED_TEST_REQUIRE names it. */
  requirement: string;
  /** What is missing and how to provide it. */
  reason: string;
}

declare module 'vitest' {
  interface TaskMeta {
    notRun?: NotRun;
  }
}

/** Everything a test here may need, by the name EVENTED_TEST_REQUIRE uses. */
export type Requirement =
  'rabbitmq' | 'postgres' | 'mongodb' | 'consul' | 'rabbitmq-server' | 'script' | 'prometheus' | 'chromium';

type Found = { value: string } | { missing: string };

/** A service given by a variable: its value, or the variable to set and the kind of value it takes. */
const variable = (name: string, example: string, what: string): (() => Found) => {
  return () => {
    const value = process.env[name];
    return value ? { value } : { missing: `set ${name}=${example} (${what})` };
  };
};

/** The sibling checkout's helper script, when there is one (the shortcut on the machines that have ../shared). */
const sharedTool = (name: string): string | undefined => {
  const path = join(repoRoot, '../shared/tools', name);
  return existsSync(path) ? path : undefined;
};

const CONSUL_HOW =
  'set CONSUL_BIN=/path/to/consul (a Consul binary; the tests start their own agents from it)';

const consulBinary = (): Found => {
  if (process.env.CONSUL_BIN) return { value: process.env.CONSUL_BIN };
  const tool = sharedTool('consul-bin');
  if (tool === undefined) return { missing: CONSUL_HOW };
  try {
    const path = execFileSync(tool, {
      encoding: 'utf8',
      timeout: 120_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { value: path.trim() };
  } catch (error) {
    return { missing: `${CONSUL_HOW}; ${tool} failed: ${(error as Error).message.split('\n')[0]}` };
  }
};

const requirements: Record<Requirement, () => Found> = {
  rabbitmq: variable(
    'EVENTED_TEST_AMQP_URL',
    'amqp://guest:guest@127.0.0.1:5672',
    'a RabbitMQ broker; the tests declare and delete exchanges and queues of their own on it',
  ),
  postgres: variable(
    'EVENTED_TEST_POSTGRES_URL',
    'postgres://postgres@127.0.0.1:5432/test',
    'a PostgreSQL database; the tests create and drop schemas of their own in it',
  ),
  mongodb: variable(
    'EVENTED_TEST_MONGODB_URL',
    'mongodb://127.0.0.1:27017/?replicaSet=rs0',
    'a MongoDB replica set: the store needs transactions',
  ),
  consul: consulBinary,
  'rabbitmq-server': () => {
    const { path, searched } = findProgram('rabbitmq-server');
    return path !== undefined
      ? { value: path }
      : {
          missing:
            `install rabbitmq-server (Debian: apt-get install rabbitmq-server); not found in ${searched.join(':')}. ` +
            'The tests start private nodes from it, never touching a running broker',
        };
  },
  prometheus: () => {
    const { path, searched } = findProgram('prometheus');
    return path !== undefined
      ? { value: path }
      : {
          missing:
            `install prometheus (Debian: apt-get install prometheus); not found in ${searched.join(':')}. ` +
            'The tests start their own server from it, on a free port, with its data in a temporary folder',
        };
  },
  chromium: () => {
    const { path, searched } = findProgram('chromium');
    return path !== undefined
      ? { value: path }
      : {
          missing:
            `install chromium (Debian: apt-get install chromium); not found in ${searched.join(':')}. ` +
            'The console tests drive it headless with playwright-core (no browser download works here)',
        };
  },
  script: () => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return { value: 'script' };
    } catch {
      return {
        missing:
          "install util-linux's `script` (Debian: apt-get install bsdutils); it gives the CLI a terminal",
      };
    }
  },
};

const found = new Map<Requirement, Found>();
const look = (name: Requirement): Found => {
  let result = found.get(name);
  if (result === undefined) found.set(name, (result = requirements[name]()));
  return result;
};

const requiredNames = (): string[] =>
  (process.env.EVENTED_TEST_REQUIRE ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

const isRequired = (name: string): boolean => requiredNames().includes(name);

const requiredError = (name: string, reason: string): Error =>
  new Error(`${name} is required (EVENTED_TEST_REQUIRE=${requiredNames().join(',')}) but missing: ${reason}`);

/** A suite that stands for `title` without running it, carrying the reason for the reporter. */
const notRunSuite = (title: string, notRun: NotRun): void => {
  describe(title, { skip: true, meta: { notRun } }, () => {
    it(`needs ${notRun.requirement}`, () => undefined);
  });
};

/** A suite that fails at once: what it needs was required and is missing. */
const failingSuite = (title: string, notRun: NotRun): void => {
  describe(title, () => {
    it(`has ${notRun.requirement}`, () => {
      throw requiredError(notRun.requirement, notRun.reason);
    });
  });
};

/**
 * The requirement's value (a URL or a path), for a requirement a describeWith or itWith has already let through
 * (cleanup in an afterAll, say). Throws when it is missing: a test never decides by itself to do less.
 */
export const serviceUrl = (name: Requirement): string => {
  const result = look(name);
  if ('value' in result) return result.value;
  throw new Error(
    `${name} is missing: ${result.missing} (use describeWith / itWith to run only where it is)`,
  );
};

/** `describe` that runs only where `name` is available, with its value: `describeWith('rabbitmq', …, (url) => …)`. */
export const describeWith = (name: Requirement, title: string, body: (value: string) => void): void => {
  const result = look(name);
  if ('value' in result) describe(title, () => body(result.value));
  else if (isRequired(name)) failingSuite(title, { requirement: name, reason: result.missing });
  else notRunSuite(title, { requirement: name, reason: result.missing });
};

/** `it` that runs only where `name` is available, with its value: `itWith('consul', 'title', async (bin) => …)`. */
export const itWith = (
  name: Requirement,
  title: string,
  test: (value: string, context: TestContext) => Promise<void> | void,
  timeout?: number,
): void => {
  const result = look(name);
  if ('value' in result) it(title, { timeout }, (context) => test(result.value, context));
  else if (isRequired(name)) {
    it(title, () => {
      throw requiredError(name, result.missing);
    });
  } else {
    const notRun: NotRun = { requirement: name, reason: result.missing };
    it(title, { skip: true, meta: { notRun } }, () => undefined);
  }
};

/**
 * `describe` that runs only where a language's toolchain is installed (`missing` says what is not, or returns
 * undefined); the requirement is the language's name (`python`, `go`, `java`, …).
 */
export const describeWithToolchain = (
  lang: string,
  title: string,
  missing: () => string | undefined,
  body: () => void,
): void => {
  const problem = missing();
  if (problem === undefined) describe(title, body);
  else if (isRequired(lang)) failingSuite(title, { requirement: lang, reason: problem });
  else notRunSuite(title, { requirement: lang, reason: problem });
};
