/**
 * The gRPC metadata by which a caller gives a command its origin (see Origin in evented.proto and
 * command/origin.ts), and what a value must look like: shared by the command handler, which checks what it
 * receives, and its clients (a saga in another process, `evented send`).
 */

/** The metadata keys: a caller's correlation id, and what a saga in another process passes along. */
export const ORIGIN_METADATA = {
  correlationId: 'evented-correlation-id',
  causationId: 'evented-causation-id',
  saga: 'evented-saga',
} as const;

/** How long each value may be: a correlation id or a saga name is short; a causation names an event. */
const MAX_LENGTH = { correlationId: 128, causationId: 512, saga: 128 } as const;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * What is wrong with an origin value given from outside (metadata, a CLI flag), and what is accepted; undefined
 * when it is fine.
 */
export const originValueProblem = (
  value: string,
  field: keyof typeof ORIGIN_METADATA = 'correlationId',
): string | undefined => {
  const max = MAX_LENGTH[field];
  const what =
    value.length === 0
      ? 'is empty'
      : value.length > max
        ? `is ${value.length} characters long`
        : !PRINTABLE_ASCII.test(value)
          ? 'has characters that are not printable ASCII'
          : undefined;
  return what && `${what}: expected 1 to ${max} printable ASCII characters (space to ~), such as a UUID`;
};
