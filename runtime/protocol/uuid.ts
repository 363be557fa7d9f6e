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

export { randomUUID };
