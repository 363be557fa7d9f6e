import { pathToFileURL } from 'node:url';
import { status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import {
  BusinessLogicService,
  type BusinessLogicServer,
  type ContextualCommand,
  type EventBook,
  type EventPage,
} from './gen/evented/evented.js';
import { decodeCommand, decodeEvent, decodeState, encodeEvent, encodeState } from './codec.js';
import { decide, DomainError, evolve, initialAccount, type Account } from './domain.js';
import { listenAddress, serve } from './serve.js';

/**
 * The account domain's business logic, served as evented.BusinessLogic. evented sends the aggregate's prior
 * state (its latest snapshot and the events after it) with the command; we answer with the new events, and a
 * snapshot every `snapshotEvery` events so that loading an account never replays its whole history.
 */

/** Folds the prior state; returns it with the sequence the next event gets. */
export const priorState = (context: ContextualCommand): { state: Account; next: number } => {
  const prior = context.events;
  let state = prior?.snapshot?.state ? decodeState(prior.snapshot.state) : initialAccount;
  let next = prior?.snapshot?.sequence ?? 0;
  for (const page of prior?.pages ?? []) {
    const event = page.Event && decodeEvent(page.Event);
    if (event) state = evolve(state, event);
    next = (page.num ?? next) + 1;
  }
  return { state, next };
};

export const handleCommand = (context: ContextualCommand, snapshotEvery: number): EventBook => {
  let { state, next } = priorState(context);
  const first = next;
  const pages: EventPage[] = [];
  const now = new Date();
  for (const [index, page] of (context.command?.pages ?? []).entries()) {
    const command = page.command && decodeCommand(page.command);
    if (!command)
      throw new DomainError(
        'invalid',
        `pages[${index}].command has an unknown type: ${page.command?.typeUrl}`,
      );
    for (const event of decide(state, command)) {
      state = evolve(state, event);
      pages.push({
        num: next++,
        createdAt: now,
        Event: encodeEvent(event),
        synchronous: page.synchronous,
      });
    }
  }
  const crossed = snapshotEvery > 0 && Math.floor(next / snapshotEvery) > Math.floor(first / snapshotEvery);
  return {
    cover: context.command?.cover,
    snapshot: crossed ? { sequence: next, state: encodeState(state) } : undefined,
    pages,
  };
};

export const businessLogic = (snapshotEvery: number): BusinessLogicServer => ({
  handle(call: ServerUnaryCall<ContextualCommand, EventBook>, callback: sendUnaryData<EventBook>) {
    try {
      callback(null, handleCommand(call.request, snapshotEvery));
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      callback({
        code: err.kind === 'invalid' ? status.INVALID_ARGUMENT : status.FAILED_PRECONDITION,
        details: err.message,
      });
    }
  },
});

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const snapshotEvery = Number(process.env.SNAPSHOT_EVERY ?? 10);
  await serve(
    'account business logic',
    BusinessLogicService,
    businessLogic(snapshotEvery),
    listenAddress(1737),
  );
}
