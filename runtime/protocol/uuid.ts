import { randomUUID } from 'node:crypto';

/** UUIDs travel as 16 raw bytes (RFC 4122 order) in evented.UUID; these convert to and from text. */

const UUID_TEXT = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export const isUuidText = (text: string): boolean => UUID_TEXT.test(text);

/** Parses a UUID written with or without hyphens. Returns undefined when it is not one. */
export const uuidToBytes = (text: string): Uint8Array | undefined => {
  if (!isUuidText(text)) return undefined;
  return Uint8Array.from(Buffer.from(text.replaceAll('-', ''), 'hex'));
};

export const uuidFromBytes = (bytes: Uint8Array): string => {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

export const randomUuidBytes = (): Uint8Array => uuidToBytes(randomUUID())!;

/**
 * A time-ordered UUID (version 7, RFC 9562): the first 48 bits are the Unix time in milliseconds, the rest random.
 * Ids the runtime makes up for correlations and commands are of this kind, so that the store's index on them
 * grows at its end like the log instead of at random places (a random key costs a random index page per
 * event), and so that they sort by when they were made.
 */
export const timeOrderedUuid = (now: number = Date.now()): string => {
  const time = now.toString(16).padStart(12, '0');
  const random = randomUUID();
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
};

export { randomUUID };
