import type { Logger } from 'pino';
import { NotFoundError, StateError } from '../errors/index.js';
import { formatAggregate } from '../protocol/cover.js';
import type { EventBook } from '../protocol/gen/evented/evented.js';
import type { AggregateRef, DeadLetter, EventStore } from '../store/port.js';
import type { SubscriberDeadLetters } from './dead-letters.js';
import {
  appliedCall,
  DEFAULT_DELIVERY_LOG,
  startCall,
  type CallTiming,
  type DeliveryLogPolicy,
} from './delivery-log.js';

/**
 * What a person decides about a subscriber's dead letters (evented dlq retry / skip). The caller holds the
 * subscriber's delivery lock, so a decision never interleaves with live delivery:
 * - retry delivers an aggregate's open letters again from the store, one call each, in sequence order; each
 *   success marks its letter retried; a failure records the attempt and stops that aggregate there (the letters
 *   after it now wait behind it). Once an aggregate has no open letter, its events flow again. Only the first open
 *   letter of an aggregate can be retried by id: retrying a later one would break the aggregate's order.
 * - skip closes a letter as skipped (who, when) and never delivers it; when no earlier letter of its aggregate is
 *   open, the letters waiting behind it are then retried in order (an earlier open letter still holds them back).
 */

/** Delivers one event to the subscriber once, without waiting for it when it is down (a person is waiting). */
export type Redelivery = (book: EventBook) => Promise<{ ok: true } | { ok: false; reason: string }>;

export type RetryScope = { letter: number } | { aggregate: AggregateRef } | { all: true };

/** What a coordinator offers a person: its letters retried or skipped (`by` names who, for the record). */
export interface DeadLetterDecisions {
  /** Returns every letter it touched, as it is now (retried, or open with the new error). */
  retry(scope: RetryScope, by: string): Promise<DeadLetter[]>;
  /** Returns every letter it touched: the skipped ones, and those released behind them. */
  skip(ids: readonly number[], by: string): Promise<DeadLetter[]>;
}

/** "projector:accounts" → `projector "accounts"`, as messages name a subscriber. */
export const describeSubscriber = (subscriber: string): string => {
  const [kind, ...name] = subscriber.split(':');
  return `${kind} "${name.join(':')}"`;
};

export const createDeadLetterDecisions = (options: {
  store: EventStore;
  letters: SubscriberDeadLetters;
  /** Runs a decision with the subscriber's delivery lock held. */
  exclusive: <T>(task: () => Promise<T>) => Promise<T>;
  redeliver: Redelivery;
  label: string;
  logger: Logger;
  /** Whether and how long successful calls are logged (default: DEFAULT_DELIVERY_LOG). */
  deliveryLog?: DeliveryLogPolicy | undefined;
}): DeadLetterDecisions => {
  const { store, letters, label, logger } = options;
  const { subscriber } = letters;
  const now = (): number => Date.now();

  /**
   * A letter delivered again goes to the delivery log like any successful call. Its progress moved past it when
   * it was set aside, so the progress written with it changes nothing (progress only moves forward).
   */
  const logRedelivery = async (letter: DeadLetter, call: CallTiming): Promise<void> => {
    if ((options.deliveryLog ?? DEFAULT_DELIVERY_LOG).retentionMs <= 0) return;
    const { domain, root, sequence } = letter;
    const applied = [appliedCall(sequence, sequence + 1, call)];
    await store.saveProgress(subscriber, [{ domain, root, next: sequence + 1, applied }]);
  };

  const get = async (id: number): Promise<DeadLetter> => {
    const letter = await store.getDeadLetter(id);
    if (letter === undefined || letter.subscriber !== subscriber) {
      throw new NotFoundError(`${describeSubscriber(subscriber)} has no dead letter #${id}`);
    }
    return letter;
  };

  const mustBeOpen = (letter: DeadLetter): void => {
    if (letter.state === 'open') return;
    const when = letter.decidedAt === undefined ? '' : ` at ${new Date(letter.decidedAt).toISOString()}`;
    throw new StateError(
      `dead letter #${letter.id} was ${letter.state} already (by ${letter.decidedBy ?? 'someone'}${when})`,
    );
  };

  /**
   * Delivers `open` (one aggregate's open letters, in sequence order) again, one call each; stops at the first
   * that fails, recording the attempt, and names it as what the rest wait behind. Returns the ids it touched.
   */
  const redeliverInOrder = async (open: readonly DeadLetter[], by: string): Promise<number[]> => {
    const touched: number[] = [];
    for (const [index, letter] of open.entries()) {
      const clock = startCall();
      const outcome = await options.redeliver(await letters.bookOf(letter));
      touched.push(letter.id);
      if (outcome.ok) {
        await logRedelivery(letter, clock());
        await store.closeDeadLetter(letter.id, { state: 'retried', at: now(), by });
        continue;
      }
      await store.recordDeadLetterAttempt(letter.id, {
        attempts: letter.attempts + 1,
        lastError: outcome.reason,
        at: now(),
      });
      logger.warn(
        { letter: letter.id, reason: outcome.reason, by },
        `${label}: dead letter #${letter.id} failed again; its aggregate stays held back`,
      );
      const waiting = `waiting behind #${letter.id}`;
      for (const behind of open.slice(index + 1)) {
        if (behind.attempts === 0 && behind.lastError !== waiting) {
          await store.recordDeadLetterAttempt(behind.id, { attempts: 0, lastError: waiting, at: now() });
        }
      }
      break;
    }
    await letters.openLetters(open[0]!);
    return touched;
  };

  const current = async (ids: readonly number[]): Promise<DeadLetter[]> =>
    Promise.all(ids.map(async (id) => (await store.getDeadLetter(id))!));

  /** The open letters `scope` names, by aggregate. */
  const groupsOf = async (scope: RetryScope): Promise<DeadLetter[][]> => {
    if ('all' in scope) return letters.openByAggregate();
    if ('aggregate' in scope) {
      const open = await letters.openLetters(scope.aggregate);
      if (open.length === 0) {
        const { domain, root } = scope.aggregate;
        throw new NotFoundError(
          `${describeSubscriber(subscriber)} has no open dead letter for ${formatAggregate(domain, root)}`,
        );
      }
      return [open];
    }
    const letter = await get(scope.letter);
    mustBeOpen(letter);
    const open = await letters.openLetters(letter);
    const first = open[0]!;
    if (first.id !== letter.id) {
      throw new StateError(
        `dead letter #${letter.id} waits behind #${first.id} (${formatAggregate(first.domain, first.root)} #${first.sequence}): retry or skip #${first.id} first`,
      );
    }
    return [open];
  };

  return {
    retry: (scope, by) =>
      options.exclusive(async () => {
        const touched: number[] = [];
        for (const open of await groupsOf(scope)) touched.push(...(await redeliverInOrder(open, by)));
        return current(touched);
      }),

    skip: (ids, by) =>
      options.exclusive(async () => {
        const touched: number[] = [];
        for (const id of ids) {
          const letter = await get(id);
          mustBeOpen(letter);
          if (!(await store.closeDeadLetter(id, { state: 'skipped', at: now(), by }))) {
            mustBeOpen((await store.getDeadLetter(id))!);
          }
          touched.push(id);
          logger.warn({ letter: id, by }, `${label}: dead letter #${id} skipped`);
          const open = await letters.openLetters(letter);
          // Released only when nothing earlier of the aggregate is still open.
          if (open.length > 0 && open[0]!.sequence > letter.sequence) {
            touched.push(...(await redeliverInOrder(open, by)));
          }
        }
        return current(touched);
      }),
  };
};
