import type { DeadLetterView } from '../../runtime/protocol/json-views.js';
import { formatTable } from './table.js';

/**
 * What `evented dlq` prints: a dead letter as a table row, in full, and what a retry or skip did. As JSON it is
 * the view the console's API gives (runtime/protocol/json-views.ts).
 */

const aggregateOf = (view: DeadLetterView): string => `${view.domain}/${view.root}`;

export const formatLetterTable = (views: readonly DeadLetterView[]): string =>
  formatTable(
    [
      'ID',
      'SUBSCRIBER',
      'KIND',
      'AGGREGATE',
      'SEQ',
      'POSITION',
      'STATE',
      'ATTEMPTS',
      'SET ASIDE',
      'LAST ERROR',
    ],
    views.map((view) => [
      `#${view.id}`,
      view.subscriber,
      view.kind,
      aggregateOf(view),
      String(view.sequence),
      String(view.position),
      view.state,
      String(view.attempts),
      view.createdAt,
      view.lastError,
    ]),
  );

/** One letter in full; `stored` is its event as stored, one line as `tail` prints it. */
export const formatLetter = (view: DeadLetterView, stored: string | undefined): string => {
  const rows: [string, string][] = [
    ['subscriber', `${view.kind} ${view.subscriber}`],
    ['event', `${aggregateOf(view)} #${view.sequence} at position ${view.position}`],
    ['attempts', String(view.attempts)],
    ['last error', view.lastError],
    ['set aside', view.createdAt],
    ['changed', view.updatedAt],
  ];
  if (view.decidedAt) rows.push([view.state, `${view.decidedAt} by ${view.decidedBy ?? 'someone'}`]);
  rows.push(['stored', stored ?? '(not in the store)']);
  const width = Math.max(...rows.map(([name]) => name.length));
  return `dead letter #${view.id}: ${view.state}\n${rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`).join('\n')}\n`;
};

/** What a retry or skip did, one line per letter it touched: delivered, skipped, or failed again. */
export const formatOutcome = (views: readonly DeadLetterView[]): string =>
  views
    .map((view) => {
      const what =
        view.state === 'open'
          ? `failed again (attempt ${view.attempts}): ${view.lastError}`
          : view.state === 'retried'
            ? 'delivered'
            : 'skipped';
      return `#${view.id}  ${view.kind} ${view.subscriber}  ${aggregateOf(view)} #${view.sequence}  ${what}\n`;
    })
    .join('');
