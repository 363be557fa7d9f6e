import type { JsonValue } from '@bufbuild/protobuf';
import type { BusinessLogic } from '../../runtime/index.js';
import type { LoggedCommand } from '../../runtime/protocol/gen/evented/evented.js';
import { timestampToIso } from '../../runtime/protocol/timestamp.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import type { FieldDifference } from '../output/field-diff.js';
import type { PayloadTypes } from '../protos/payloads.js';
import { decideAgain, storedOutcome } from './decide.js';
import { compareOutcomes, payloadOf, typeNameOf, type Outcome } from './outcome.js';

/**
 * The verification itself: every recorded command decided again by the business logic of its domain, CONCURRENCY
 * at a time, its new outcome compared with the stored one; the decisions that differ, and a count per command
 * type. Progress is told as it goes (checked so far, the rate).
 */

export const CONCURRENCY = 8;

/** A recorded command as the report shows it. */
export interface CommandView {
  /** The log's id of the decision. */
  id: number;
  commandId: string;
  domain: string;
  root: string;
  type: string;
  payload: JsonValue;
  decidedAt: string;
  /** The aggregate's events it was decided on: 0 to decidedOn - 1. */
  decidedOn: number;
}

export interface Difference {
  command: CommandView;
  stored: Outcome;
  now: Outcome;
  /** Field by field; `expected` is the stored side, `actual` the new one. */
  fields: FieldDifference[];
}

export interface TypeCount {
  type: string;
  checked: number;
  same: number;
  differ: number;
}

export interface Verification {
  checked: number;
  same: number;
  differ: number;
  byType: TypeCount[];
  /** In the log's order. */
  differences: Difference[];
}

export interface VerifyProgress {
  checked: number;
  perSecond: number;
}

const viewOf = (logged: LoggedCommand, types: PayloadTypes): CommandView => {
  const page = logged.command?.pages[0];
  return {
    id: logged.id,
    commandId: logged.commandId,
    domain: logged.command?.cover?.domain ?? '',
    root: uuidFromBytes(logged.command?.cover?.root?.value ?? new Uint8Array(16)),
    type: typeNameOf(page?.command),
    payload: payloadOf(page?.command, types),
    decidedAt: logged.decidedAt ? timestampToIso(logged.decidedAt) : '',
    decidedOn: logged.decidedOn,
  };
};

export interface VerifyOptions {
  commands: AsyncIterable<LoggedCommand>;
  /** The business logic of a command's domain (throws for a domain without one). */
  logicFor(domain: string): BusinessLogic;
  types: PayloadTypes;
  timeoutMs: number;
  onProgress?(progress: VerifyProgress): void;
  signal: AbortSignal;
}

export const verifyCommands = async (options: VerifyOptions): Promise<Verification> => {
  const byType = new Map<string, TypeCount>();
  const differences: Difference[] = [];
  const started = Date.now();
  let checked = 0;
  const check = async (logged: LoggedCommand): Promise<void> => {
    const command = viewOf(logged, options.types);
    const stored = storedOutcome(logged, options.types);
    const now = await decideAgain(options.logicFor(command.domain), logged, options.types, options.timeoutMs);
    const fields = compareOutcomes(stored, now);
    const count = byType.get(command.type) ?? { type: command.type, checked: 0, same: 0, differ: 0 };
    byType.set(command.type, count);
    count.checked += 1;
    if (fields.length === 0) count.same += 1;
    else {
      count.differ += 1;
      differences.push({ command, stored, now, fields });
    }
    checked += 1;
    options.onProgress?.({ checked, perSecond: checked / Math.max((Date.now() - started) / 1000, 0.001) });
  };

  // A pool: up to CONCURRENCY decisions in flight; the first failure stops the reading and is thrown.
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  for await (const logged of options.commands) {
    if (failure !== undefined || options.signal.aborted) break;
    const task = check(logged).then(
      () => void running.delete(task),
      (error: unknown) => {
        running.delete(task);
        failure ??= { error };
      },
    );
    running.add(task);
    if (running.size >= CONCURRENCY) await Promise.race(running);
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure.error;

  differences.sort((a, b) => a.command.id - b.command.id);
  const counts = [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
  const differ = differences.length;
  return { checked, same: checked - differ, differ, byType: counts, differences };
};
