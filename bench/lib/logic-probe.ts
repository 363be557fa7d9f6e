// Preloaded into the sample business logic by `bench/delivery.ts` (`node --import tsx --import THIS
// src/business-logic.ts`): it leaves the business logic's code and decisions as they are, and only clears the
// createdAt of the pages it answers with. The store then stamps each event with its own clock as it writes it,
// inside the commit's transaction (its documented behaviour for pages without createdAt): the benchmark's
// commit time, on the machine's real-time clock.
import grpc from '@grpc/grpc-js';

interface Book {
  pages?: { createdAt?: unknown }[];
}

type Handler = (call: unknown, callback: (error: unknown, book?: Book) => void) => void;

if (process.env.LOGIC_PROBE === '1') {
  const addService = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (
    this: grpc.Server,
    definition: grpc.ServiceDefinition,
    implementation: grpc.UntypedServiceImplementation,
  ): void {
    const wrapped = { ...implementation } as Record<string, unknown>;
    const handle = wrapped.handle as Handler | undefined;
    if (typeof handle === 'function') {
      wrapped.handle = ((call, callback) =>
        handle(call, (error, book) => {
          for (const page of book?.pages ?? []) page.createdAt = undefined;
          callback(error, book);
        })) satisfies Handler;
    }
    addService.call(this, definition, wrapped as grpc.UntypedServiceImplementation);
  };
}
