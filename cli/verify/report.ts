import type { JsonValue } from '@bufbuild/protobuf';
import type { FieldDifference } from '../output/field-diff.js';
import { formatTable } from '../output/table.js';
import type { Outcome } from './outcome.js';
import type { Difference, Verification } from './run.js';

/**
 * What `evented verify` prints: each decision that came out differently (the command, the stored outcome, the new
 * one, field by field), then the counts per command type; or, with --json, all of it as one document.
 */

export interface VerifyReport extends Verification {
  /** When only a sample was checked: of how many that match. */
  sampleOf?: number;
  /** The business logic each domain was decided again by. */
  businessLogic: Record<string, string>;
}

const count = (n: number): string => n.toLocaleString('en-US');
const shown = (value: JsonValue | undefined): string =>
  value === undefined ? '(absent)' : JSON.stringify(value);

export const describeOutcome = (outcome: Outcome): string[] => {
  switch (outcome.outcome) {
    case 'accepted':
      return outcome.events.length === 0
        ? ['accepted, no events']
        : [
            `accepted, ${outcome.events.length} event${outcome.events.length === 1 ? '' : 's'}:`,
            ...outcome.events.map((event) => `  ${event.type} ${JSON.stringify(event.payload)}`),
          ];
    case 'refused':
      return [`refused ${outcome.status}: ${outcome.message}`];
    case 'failed':
      return [`failed: ${outcome.message}`];
  }
};

const describeField = (d: FieldDifference): string =>
  `${d.path === '' ? 'value' : d.path}: stored ${shown(d.expected)}, now ${shown(d.actual)}`;

export const formatDifference = (difference: Difference): string => {
  const { command, stored, now, fields } = difference;
  const indent = (lines: string[], first: string): string[] =>
    lines.map((line, index) => `${index === 0 ? first : ' '.repeat(first.length)}${line}`);
  return [
    `decision ${command.id}: ${command.domain}/${command.root} ${command.type} ${JSON.stringify(command.payload)}`,
    `  command ${command.commandId}, decided ${command.decidedAt} on ${count(command.decidedOn)} event${command.decidedOn === 1 ? '' : 's'}`,
    ...indent(describeOutcome(stored), '  stored: '),
    ...indent(describeOutcome(now), '  now:    '),
    ...fields.map((field) => `    ${describeField(field)}`),
  ].join('\n');
};

const summaryLine = (report: VerifyReport): string => {
  const checked =
    report.sampleOf === undefined
      ? `checked ${count(report.checked)} recorded commands`
      : `checked a random sample of ${count(report.checked)} of ${count(report.sampleOf)} recorded commands`;
  const verdict =
    report.differ === 0
      ? 'every decision is the same'
      : `${count(report.differ)} decision${report.differ === 1 ? ' differs' : 's differ'}`;
  return `${checked}: ${verdict}`;
};

export const formatReport = (report: VerifyReport): string => {
  const table = formatTable(
    ['type', 'checked', 'same', 'differ'],
    report.byType.map((row) => [row.type, count(row.checked), count(row.same), count(row.differ)]),
  );
  const logic = Object.entries(report.businessLogic)
    .map(([domain, address]) => `${domain} at ${address}`)
    .join(', ');
  return [
    ...report.differences.map((difference) => `${formatDifference(difference)}\n`),
    summaryLine(report),
    `decided again by the business logic of ${logic}; nothing was written`,
    '',
    table,
    '',
  ].join('\n');
};

/** The --json document: the summary, then every difference. */
export const reportJson = (report: VerifyReport): string =>
  JSON.stringify({
    summary: {
      checked: report.checked,
      same: report.same,
      differ: report.differ,
      sample: report.sampleOf !== undefined,
      ...(report.sampleOf !== undefined && { sampleOf: report.sampleOf }),
      businessLogic: report.businessLogic,
      byType: report.byType,
    },
    differences: report.differences,
  });
