import type {
  CommandBook,
  EventBook,
  Origin,
  SynchronousProcessingResponse,
} from '../protocol/gen/evented/evented.js';

/**
 * Where a saga's output goes: the command handler of the target domain (in this process, or another runtime's
 * BusinessCoordinator). The idempotency key makes a second submission of the same output a no-op, so an input
 * event that is delivered again never applies the saga's output twice. The origin (the triggering event's
 * correlation, the event itself as causation, the saga) is stored with the events the output produces.
 */
export interface GatewayOptions {
  idempotencyKey: string;
  origin: Origin;
}

export interface CommandGateway {
  /** Runs a command through its domain's business logic. */
  handle(command: CommandBook, options: GatewayOptions): Promise<SynchronousProcessingResponse>;
  /** Records events as they are. */
  record(book: EventBook, options: GatewayOptions): Promise<SynchronousProcessingResponse>;
}
