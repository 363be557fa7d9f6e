import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type { CliContext } from '../context.js';
import { CliError, InterruptedError, ReportedError, UsageError } from '../errors.js';
import { findProjectDir } from '../local/project.js';
import type { FileResult } from '../specs/report.js';

/**
 * `evented test [PATTERN]`: runs the project's specs (specs/**\/*.yaml, the given/when/then format of
 * cli/specs/parse.ts) against its business logic, sagas and projectors, called directly over gRPC — whatever
 * language they are written in. Every spec file is checked before anything runs (a mistake is one line naming
 * file, line and key; exit 2); the services the specs need are started from evented.yaml `processes` when they
 * are not running, and stopped afterwards; each case is a ✓ or a ✗ with its differences (exit 1 on a failure).
 */

interface TestOptions {
  dir?: string;
  address: string[];
  json?: boolean;
  junit?: string;
  record?: string;
  last?: string;
  out?: string;
}

const SPECS = 'specs';

/** The spec files under `dir`, as paths relative to the project, sorted. */
const specFiles = (projectDir: string, sub = SPECS): string[] => {
  let entries;
  try {
    entries = readdirSync(join(projectDir, sub), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .flatMap((entry) => {
      const path = `${sub}/${entry.name}`;
      if (entry.isDirectory()) return specFiles(projectDir, path);
      return /\.ya?ml$/.test(entry.name) ? [path] : [];
    })
    .sort();
};

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const registerTest = (program: Command, context: CliContext): void => {
  program
    .command('test')
    .description(
      'run the specs under specs/ (given/when/then in YAML) against the business logic, sagas and projectors',
    )
    .argument(
      '[pattern]',
      'run only the spec files whose path contains it, or else only the cases whose name contains it',
    )
    .option('--dir <folder>', 'the project folder (default: the nearest one holding evented.yaml)')
    .option(
      '--address <name=host:port>',
      'call the domain, saga or projector NAME there instead of where evented.yaml says (nothing is started for it; repeatable)',
      collect,
      [],
    )
    .option('--json', 'print the results as one JSON document')
    .option(
      '--record <domain/uuid>',
      "write the aggregate's latest recorded commands (commandLog: true) as a spec file, instead of running specs",
    )
    .option('--last <n>', 'with --record: how many of its latest commands (default 1; all for every one)')
    .option('--out <file>', 'with --record: the file to write (default: specs/recorded/DOMAIN-UUID.yaml)')
    .addOption(
      new Option('--junit <file>', 'also write the results as JUnit XML, for CI').env('EVENTED_TEST_JUNIT'),
    )
    .addHelpText(
      'after',
      `
The services named in evented.yaml \`processes\` whose readyOn is a spec's target are started when nothing
answers there yet (their logs in .evented/logs), and stopped when the specs have run.

Examples:
  evented test
  evented test withdrawals
  evented test --address account=127.0.0.1:50051 --junit specs.xml
  evented test --record account/3f2b5c1e-0000-4000-8000-000000000001 --last 3
`,
    )
    .action(async (pattern: string | undefined, options: TestOptions) => {
      if (options.record !== undefined) {
        if (pattern !== undefined) throw new UsageError('--record takes no pattern: it runs no spec');
        const { recordAggregate } = await import('./test-record.js');
        return recordAggregate(context, { ...options, record: options.record });
      }
      if (options.last !== undefined || options.out !== undefined) {
        throw new UsageError(
          `${options.last !== undefined ? '--last' : '--out'} goes with --record DOMAIN/UUID`,
        );
      }
      const started = Date.now();
      const projectDir = findProjectDir(context.cwd, options.dir);
      const { readConfigFile } = await import('../../runtime/index.js');
      const { loadPayloadTypes } = await import('../protos/payloads.js');
      const { formatProblem, parseSpecFile } = await import('../specs/parse.js');
      const { parseAddressFlags, startServices, targetAddress } = await import('../specs/targets.js');
      const { runSpecFile } = await import('../specs/run.js');
      const report = await import('../specs/report.js');

      // 1. What to run: every spec file, read and checked before anything starts.
      const overrides = parseAddressFlags(options.address);
      const config = await readConfigFile(join(projectDir, 'evented.yaml'), { signal: context.signal });
      const files = specFiles(projectDir);
      if (files.length === 0) {
        throw new UsageError(
          `no spec files in ${join(projectDir, SPECS)}`,
          'write one: specs/NAME.yaml with a target (businessLogic: DOMAIN) and cases of given, when, then',
        );
      }
      const types = loadPayloadTypes(projectDir);
      const specContext = { types, config, addressed: new Set(overrides.keys()) };
      const parsed = files.map((file) =>
        parseSpecFile(file, readFileSync(join(projectDir, file), 'utf8'), specContext),
      );
      const problems = parsed.flatMap((p) => p.problems);
      if (problems.length > 0) {
        for (const problem of problems) context.stderr.write(`${formatProblem(problem)}\n`);
        const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
        context.stderr.write(`${count} in the spec files: nothing was run\n`);
        throw new ReportedError(new UsageError(`${count} in the spec files`));
      }
      const specs = parsed
        .map((p) => p.spec!)
        .map((spec) =>
          pattern === undefined || spec.path.includes(pattern)
            ? spec
            : { ...spec, cases: spec.cases.filter((c) => c.name.includes(pattern)) },
        )
        .filter((spec) => spec.cases.length > 0);
      if (specs.length === 0 && pattern !== undefined) {
        throw new UsageError(
          `no spec file or case matches "${pattern}"`,
          'run evented test alone to run them all',
        );
      }
      if (specs.length === 0)
        throw new UsageError(`the spec files in ${join(projectDir, SPECS)} hold no cases`);

      // 2. The services the specs call, started when they are not running; stopped at the end, whatever happens.
      const interrupted = (err: unknown): unknown => (context.signal.aborted ? new InterruptedError() : err);
      const services = await startServices({
        config,
        projectDir,
        targets: specs.map((spec) => spec.target),
        overrides,
        env: context.env,
        signal: context.signal,
        onStart: (name, log) =>
          context.stderr.write(`starting ${name} (evented.yaml processes; its log: ${log})\n`),
      }).catch((err: unknown) => {
        throw interrupted(err);
      });
      const results: FileResult[] = [];
      const print = (text: string): void => {
        if (!options.json) context.stdout.write(`${text}\n`);
      };
      try {
        // 3. The cases, file by file, each reported as it ends.
        for (const spec of specs) {
          const address = targetAddress(config, overrides, spec.target);
          print(report.fileHeading({ file: spec.path, target: spec.target }));
          const cases = await runSpecFile(spec, address, types, {
            signal: context.signal,
            onCase: (result) => print(report.caseLines(result).join('\n')),
          });
          results.push({ file: spec.path, target: spec.target, cases });
        }
      } catch (err) {
        throw interrupted(err);
      } finally {
        await services.stop();
      }

      // 4. The summary, in the forms asked for.
      const seconds = (Date.now() - started) / 1000;
      if (options.junit)
        writeFileSync(resolve(context.cwd, options.junit), report.junitReport(results, seconds));
      if (options.json) context.stdout.write(`${report.jsonReport(results, seconds)}\n`);
      print(`\n${report.summaryLine(results, seconds)}`);
      const failed = results.flatMap((r) => r.cases).filter((c) => !c.passed).length;
      if (failed > 0) {
        const where = relative(context.cwd, projectDir) || '.';
        throw new ReportedError(new CliError(`${failed} spec case(s) failed in ${where}`));
      }
    });
};
