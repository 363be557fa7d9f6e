import type { DeadLetter } from '../../runtime/protocol/gen/evented/evented.js';
import { timestampToIso } from '../../runtime/protocol/timestamp.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { formatTable } from './table.js';

/** What `evented dlq` prints: a dead letter as JSON, as a table row, in full, and what a retry or skip did. */

export interface LetterView {
  id: number;
  subscriber: string;
  kind: string;
  domain: string;
  root: string;
  sequence: number;
  position: number;
  attempts: number;
  lastError: string;
  state: string;
  createdAt: string;
  updatedAt: string;
  decidedAt?: string;
  decidedBy?: string;
}

export const letterView = (letter: DeadLetter): LetterView => ({
  id: letter.id,
  subscriber: letter.subscriber,
  kind: letter.kind,
  domain: letter.cover?.domain ?? '',
  root: uuidFromBytes(letter.cover?.root?.value ?? new Uint8Array(16)),
  sequence: letter.sequence,
  position: letter.position,
  attempts: letter.attempts,
  lastError: letter.lastError,
  state: letter.state,
  createdAt: letter.createdAt ? timestampToIso(letter.createdAt) : '',
  updatedAt: letter.updatedAt ? timestampToIso(letter.updatedAt) : '',
  ...(letter.decidedAt ? { decidedAt: timestampToIso(letter.decidedAt) } : {}),
  ...(letter.decidedBy ? { decidedBy: letter.decidedBy } : {}),
});

const aggregateOf = (view: LetterView): string => `${view.domain}/${view.root}`;

export const formatLetterTable = (views: readonly LetterView[]): string =>
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
export const formatLetter = (view: LetterView, stored: string | undefined): string => {
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
export const formatOutcome = (views: readonly LetterView[]): string =>
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
