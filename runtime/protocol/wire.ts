/**
 * Splicing already-encoded protobuf messages into a larger one, without decoding or re-encoding them. A message
 * field (and each element of a repeated one) is a tag, a varint length and the bytes: concatenating such fields
 * is exactly what the generated encoders produce. Used on the command path, where an aggregate's events are
 * sent to business logic again and again: each is encoded once, not once per command.
 */

/** An embedded message field: field number and the message's encoding. */
export type Field = readonly [fieldNumber: number, bytes: Uint8Array];

const varintSize = (value: number): number => {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size += 1;
  }
  return size;
};

const writeVarint = (target: Uint8Array, offset: number, value: number): number => {
  while (value >= 0x80) {
    target[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  target[offset++] = value;
  return offset;
};

/** The encoded size of a length-delimited field holding `length` bytes. */
export const fieldSize = (fieldNumber: number, length: number): number =>
  varintSize(fieldNumber * 8 + 2) + varintSize(length) + length;

/** Encodes a message made of length-delimited fields, in the order given. */
export const encodeFields = (fields: readonly Field[]): Buffer => {
  let size = 0;
  for (const [fieldNumber, bytes] of fields) size += fieldSize(fieldNumber, bytes.length);
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (const [fieldNumber, bytes] of fields) {
    offset = writeVarint(out, offset, fieldNumber * 8 + 2);
    offset = writeVarint(out, offset, bytes.length);
    out.set(bytes, offset);
    offset += bytes.length;
  }
  return out;
};
