import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Reporter, TestCase, TestModule, TestSuite, Vitest } from 'vitest/node';
import type { NotRun } from './services.js';

/**
 * Ends every run with what did not run and why: each file none of whose tests ran, and each suite or test skipped
 * in a file that otherwise ran, with the reason test/helpers/services.ts recorded in its meta (what is missing, and
 * the variable to set or the package to install). A plain `npm test` on a machine without the services then ends
 *
 *   not run: 7 files, 2 tests
 *     test/integration/postgres-store.int.test.ts (needs postgres: set EVENTED_TEST_POSTGRES_URL=postgres://…)
 *     …
 *
 * rather than with a count of skipped tests that says neither which nor why.
 */
export default class NotRunReporter implements Reporter {
  private vitest!: Vitest;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const root = this.vitest.config.root;
    const files: string[] = [];
    const parts: string[] = [];
    const requirements = new Set<string>();
    const why = (notRun: NotRun | undefined, note: string | undefined): string => {
      if (notRun === undefined) return note ? `skipped: ${note}` : 'skipped, no reason recorded';
      requirements.add(notRun.requirement);
      return `needs ${notRun.requirement}: ${notRun.reason}`;
    };
    // Under -t, the tests it leaves out are skipped too: only a recorded reason is worth listing then.
    const filtered = this.vitest.config.testNamePattern !== undefined;
    const listable = (test: TestCase): boolean =>
      test.result().state === 'skipped' &&
      (!filtered || test.meta().notRun !== undefined || noteOf(test) !== undefined);
    for (const module of testModules) {
      const tests = [...module.children.allTests()];
      const skipped = tests.filter(listable);
      if (skipped.length === 0) continue;
      const file = relative(root, module.moduleId);
      if (skipped.length === tests.length) {
        const reasons = [...new Set(skipped.map((test) => why(test.meta().notRun, noteOf(test))))];
        files.push(`${file} (${reasons.join('; ')})`);
        continue;
      }
      // A suite not run as a whole is listed once, under its own name; a test on its own under its full name.
      const listed = new Set<string>();
      for (const test of skipped) {
        const whole = outermostSkipped(test);
        const name = whole === undefined ? test.fullName : whole.fullName;
        if (listed.has(name)) continue;
        listed.add(name);
        parts.push(`${file} › ${name} (${why(test.meta().notRun, noteOf(test))})`);
      }
    }
    if (files.length + parts.length === 0) return;

    const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;
    const lines = [
      '',
      `not run: ${[
        ...(files.length > 0 ? [count(files.length, 'file', 'files')] : []),
        ...(parts.length > 0 ? [count(parts.length, 'suite or test', 'suites or tests')] : []),
      ].join(', ')}`,
      ...[...files, ...parts].map((line) => `  ${line}`),
    ];
    const shortcut = join(root, '../shared/tools/test-services');
    if (existsSync(shortcut)) {
      lines.push(
        `  shortcut on this machine: eval "$(${relative(root, shortcut)})" sets EVENTED_TEST_AMQP_URL, ` +
          'EVENTED_TEST_POSTGRES_URL and CONSUL_BIN (starting RabbitMQ and PostgreSQL if they are installed)',
      );
    }
    if (requirements.size > 0) {
      lines.push(`  EVENTED_TEST_REQUIRE=${[...requirements].sort().join(',')} turns these into failures`);
    }
    this.vitest.logger.log(lines.join('\n'));
  }
}

/** The note of a test skipped while running (`context.skip(note)`), if it gave one. */
const noteOf = (test: TestCase): string | undefined => {
  const result = test.result();
  return result.state === 'skipped' ? result.note : undefined;
};

/** The outermost suite around `test` none of whose tests ran, if there is one. */
const outermostSkipped = (test: TestCase): TestSuite | undefined => {
  let found: TestSuite | undefined;
  for (let parent = test.parent; parent.type === 'suite'; parent = parent.parent) {
    if ([...parent.children.allTests()].every((t) => t.result().state === 'skipped')) found = parent;
    else break;
  }
  return found;
};
