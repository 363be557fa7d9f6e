import { status as Status } from '@grpc/grpc-js';
import type { BusinessLogic } from '../../runtime/index.js';
import type {
  ContextualCommand,
  EventBook,
  LoggedCommand,
} from '../../runtime/protocol/gen/evented/evented.js';
import { BusinessFailure, BusinessRejection } from '../../runtime/errors/index.js';
import type { PayloadTypes } from '../protos/payloads.js';
import { decidedEvents, type Outcome } from './outcome.js';

/**
 * A recorded command decided again: handed to business logic exactly as it was first decided — on the
 * aggregate's events 0 to decidedOn - 1, whole (no snapshot) — through evented.BusinessLogic.Handle, and
 * nothing else. No command handler is involved, so nothing is written anywhere.
 */

const statusName = (code: number): string => Status[code] ?? `status ${code}`;

const refused = (code: number, message: string): Outcome => ({
  outcome: 'refused',
  code,
  status: statusName(code),
  message,
});

/** The decision the log keeps for `logged`. */
export const storedOutcome = (logged: LoggedCommand, types: PayloadTypes): Outcome =>
  logged.accepted
    ? { outcome: 'accepted', events: decidedEvents(logged.events, types) }
    : refused(logged.errorCode, logged.errorMessage);

/** What business logic is sent: the command, on the events it was first decided on. */
export const contextualCommandOf = (logged: LoggedCommand): ContextualCommand => ({
  events: { cover: logged.command?.cover, snapshot: undefined, pages: logged.history },
  command: logged.command,
});

/**
 * The command handler's numbering rule for what business logic returns: each page is the aggregate's next
 * sequence (from `decidedOn`), unless it asks evented to number it (`force`).
 */
const numberingProblem = (book: EventBook, decidedOn: number): string | undefined => {
  for (const [index, page] of book.pages.entries()) {
    if (page.force !== true && page.num !== decidedOn + index) {
      return `returned pages[${index}].num = ${page.num ?? '(unset)'}, but the aggregate’s next sequence is ${decidedOn + index}`;
    }
  }
  return undefined;
};

/**
 * Decides `logged` again with `logic`. A refusal or a broken answer is an outcome; business logic that cannot be
 * reached (UnavailableError) is not, and is thrown.
 */
export const decideAgain = async (
  logic: BusinessLogic,
  logged: LoggedCommand,
  types: PayloadTypes,
  timeoutMs: number,
): Promise<Outcome> => {
  let book: EventBook;
  try {
    book = await logic.decide(contextualCommandOf(logged), timeoutMs);
  } catch (err) {
    if (err instanceof BusinessRejection) return refused(err.grpcCode, err.message);
    if (err instanceof BusinessFailure) return { outcome: 'failed', message: err.message };
    throw err;
  }
  const problem = numberingProblem(book, logged.decidedOn);
  if (problem !== undefined) return { outcome: 'failed', message: problem };
  return { outcome: 'accepted', events: decidedEvents(book.pages, types) };
};
