import type { Difference } from './compare.js';
import type { CaseResult } from './run.js';
import type { Target } from './spec.js';

/**
 * How `evented test` shows its results: lines for people (a ✓ or ✗ per case, the differences under a failure,
 * a summary), one JSON document for scripts, JUnit XML for CI.
 */

export interface FileResult {
  file: string;
  target: Target;
  cases: CaseResult[];
}

/** The differences of a failed case, grouped under what they are about. */
export const differenceLines = (differences: readonly Difference[]): string[] => {
  const lines: string[] = [];
  let where: string | undefined;
  for (const d of differences) {
    if (d.where !== where) {
      where = d.where;
      const grouped =
        differences.filter((other) => other.where === d.where).length > 1 || d.path !== undefined;
      if (!grouped) {
        lines.push(`${d.where}: ${d.message}`);
        continue;
      }
      lines.push(d.where);
    }
    lines.push(`  ${d.message}`);
  }
  return lines;
};

/** "the business logic of account", "the saga transfers", "the projector accounts". */
export const targetLabel = (target: Target): string =>
  target.kind === 'businessLogic'
    ? `the business logic of ${target.name}`
    : `the ${target.kind} ${target.name}`;

export const fileHeading = (result: Pick<FileResult, 'file' | 'target'>): string =>
  `${result.file} (${targetLabel(result.target).replace(/^the /, '')})`;

export const caseLines = (result: CaseResult): string[] => [
  `  ${result.passed ? '✓' : '✗'} ${result.name}`,
  ...(result.passed ? [] : differenceLines(result.differences).map((line) => `      ${line}`)),
];

export const summaryLine = (files: readonly FileResult[], seconds: number): string => {
  const cases = files.flatMap((f) => f.cases);
  const failed = cases.filter((c) => !c.passed).length;
  return `${cases.length - failed} passed, ${failed} failed (${seconds.toFixed(1)} s)`;
};

export const jsonReport = (files: readonly FileResult[], seconds: number): string => {
  const cases = files.flatMap((f) =>
    f.cases.map((c) => ({
      file: f.file,
      name: c.name,
      target: { kind: f.target.kind, name: f.target.name },
      passed: c.passed,
      differences: c.differences,
    })),
  );
  const failed = cases.filter((c) => !c.passed).length;
  return JSON.stringify({ passed: cases.length - failed, failed, seconds, cases });
};

const xml = (text: string): string =>
  text.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);

/** JUnit XML: a testsuite per file, a testcase per case, a failure holding its differences. */
export const junitReport = (files: readonly FileResult[], seconds: number): string => {
  const suites = files.map((f) => {
    const failures = f.cases.filter((c) => !c.passed).length;
    const cases = f.cases.map((c) => {
      const open = `    <testcase classname="${xml(f.file)}" name="${xml(c.name)}"`;
      if (c.passed) return `${open}/>`;
      const lines = differenceLines(c.differences);
      return [
        `${open}>`,
        `      <failure message="${xml(lines[0] ?? 'failed')}">${xml(lines.join('\n'))}</failure>`,
        '    </testcase>',
      ].join('\n');
    });
    return [
      `  <testsuite name="${xml(f.file)}" tests="${f.cases.length}" failures="${failures}">`,
      ...cases,
      '  </testsuite>',
    ].join('\n');
  });
  const total = files.reduce((n, f) => n + f.cases.length, 0);
  const failed = files.reduce((n, f) => n + f.cases.filter((c) => !c.passed).length, 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="evented test" tests="${total}" failures="${failed}" time="${seconds.toFixed(3)}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
};
