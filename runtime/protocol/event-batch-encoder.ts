import type { Any } from './gen/google/protobuf/any.js';
import type { Timestamp } from './gen/google/protobuf/timestamp.js';
import type { Cover, EventBatch, EventBook, EventPage, Origin, Snapshot } from './gen/evented/evented.js';

/**
 * EventBatch and EventBook to protobuf bytes, in one buffer: the hot path of delivery and replay (every event
 * the bus carries and every HandleBatch call). The generated encoder writes each nested message into a chunk of
 * its own and copies them together on `finish()`, and gRPC's serializer copies the result once more; here a
 * first pass measures every message (sizes kept in pre-order), and a second writes each byte once.
 *
 * The bytes are exactly the generated encoder's (test/unit/event-batch-encoder.test.ts compares them): the
 * same field order, and the same rule for what is left out (proto3 defaults, but a oneof member whenever it is
 * set, `num: 0` included).
 */

export const encodeEventBatch = (batch: EventBatch): Buffer => {
  const sizes: number[] = [];
  const out = new Writer(Buffer.allocUnsafe(batchSize(batch, sizes)), sizes);
  writeBatch(out, batch);
  return out.done();
};

export const encodeEventBook = (book: EventBook): Buffer => {
  const sizes: number[] = [];
  const out = new Writer(Buffer.allocUnsafe(bookSize(book, sizes)), sizes);
  writeBook(out, book);
  return out.done();
};

/** The encoded size of a book, as it is inside an EventBatch (its field tag and length prefix included). */
export const eventBookSizeInBatch = (book: EventBook): number => nestedSize(bookSize(book, []));

/** The encoded size of a page, as it is inside an EventBook (its field tag and length prefix included). */
export const eventPageSizeInBook = (page: EventPage): number => nestedSize(pageSize(page, []));

// Field tags: (field number << 3) | wire type (0 varint, 2 length-delimited).
const TAG = {
  batchBooks: 10,
  batchFirst: 16,
  batchLast: 24,
  bookCover: 10,
  bookSnapshot: 18,
  bookPages: 26,
  coverRoot: 10,
  coverDomain: 18,
  uuidValue: 10,
  pageNum: 8,
  pageForce: 16,
  pageCreatedAt: 26,
  pageEvent: 34,
  pageSynchronous: 40,
  pageOrigin: 50,
  snapshotSequence: 16,
  snapshotState: 26,
  anyTypeUrl: 10,
  anyValue: 18,
  timestampSeconds: 8,
  timestampNanos: 16,
} as const;

/** Origin's fields, all strings, in field-number order (correlationId = 1, …): each one's tag is (n << 3) | 2. */
const ORIGIN_FIELDS = [
  'correlationId',
  'commandId',
  'commandType',
  'causationId',
  'saga',
  'traceparent',
] as const satisfies readonly (keyof Origin)[];

// --- sizes (first pass): each nested message's size is pushed in pre-order, for the second pass to read back.

const varintSize = (value: number): number => {
  if (value < 0) return 10; // a negative int32/int64 is sign-extended to 64 bits
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
};

const nestedSize = (size: number): number => 1 + varintSize(size) + size;

const utf8Size = (text: string): number => Buffer.byteLength(text, 'utf8');

const lengthDelimited = (length: number): number => 1 + varintSize(length) + length;

const measure = (sizes: number[], compute: () => number): number => {
  const index = sizes.push(0) - 1;
  const size = compute();
  sizes[index] = size;
  return size;
};

const batchSize = (batch: EventBatch, sizes: number[]): number => {
  let size = 0;
  for (const book of batch.books) size += nestedSize(bookSize(book, sizes));
  if (batch.firstPosition !== 0) size += 1 + varintSize(batch.firstPosition);
  if (batch.lastPosition !== 0) size += 1 + varintSize(batch.lastPosition);
  return size;
};

const bookSize = (book: EventBook, sizes: number[]): number =>
  measure(sizes, () => {
    let size = 0;
    if (book.cover !== undefined) size += nestedSize(coverSize(book.cover, sizes));
    if (book.snapshot !== undefined) size += nestedSize(snapshotSize(book.snapshot, sizes));
    for (const page of book.pages) size += nestedSize(pageSize(page, sizes));
    return size;
  });

const coverSize = (cover: Cover, sizes: number[]): number =>
  measure(sizes, () => {
    let size = 0;
    if (cover.root !== undefined) {
      const rootSize = cover.root.value.length !== 0 ? lengthDelimited(cover.root.value.length) : 0;
      sizes.push(rootSize);
      size += nestedSize(rootSize);
    }
    if (cover.domain !== '') size += lengthDelimited(utf8Size(cover.domain));
    return size;
  });

const snapshotSize = (snapshot: Snapshot, sizes: number[]): number =>
  measure(sizes, () => {
    let size = 0;
    if (snapshot.sequence !== 0) size += 1 + varintSize(snapshot.sequence);
    if (snapshot.state !== undefined) size += nestedSize(anySize(snapshot.state, sizes));
    return size;
  });

const pageSize = (page: EventPage, sizes: number[]): number =>
  measure(sizes, () => {
    let size = 0;
    if (page.num !== undefined) size += 1 + varintSize(page.num);
    if (page.force !== undefined) size += 2;
    if (page.createdAt !== undefined) size += nestedSize(timestampSize(page.createdAt, sizes));
    if (page.Event !== undefined) size += nestedSize(anySize(page.Event, sizes));
    if (page.synchronous !== false) size += 2;
    if (page.origin !== undefined) size += nestedSize(originSize(page.origin, sizes));
    return size;
  });

const originSize = (origin: Origin, sizes: number[]): number =>
  measure(sizes, () => {
    let size = 0;
    for (const field of ORIGIN_FIELDS) {
      if (origin[field] !== '') size += lengthDelimited(utf8Size(origin[field]));
    }
    return size;
  });

const anySize = (any: Any, sizes: number[]): number =>
  measure(
    sizes,
    () =>
      (any.typeUrl !== '' ? lengthDelimited(utf8Size(any.typeUrl)) : 0) +
      (any.value.length !== 0 ? lengthDelimited(any.value.length) : 0),
  );

const timestampSize = (timestamp: Timestamp, sizes: number[]): number =>
  measure(
    sizes,
    () =>
      (timestamp.seconds !== 0 ? 1 + varintSize(timestamp.seconds) : 0) +
      (timestamp.nanos !== 0 ? 1 + varintSize(timestamp.nanos) : 0),
  );

// --- writing (second pass)

class Writer {
  private pos = 0;
  private next = 0;

  constructor(
    private readonly buffer: Buffer,
    private readonly sizes: readonly number[],
  ) {}

  /** The size measured for the next nested message, written as its length prefix. */
  nested(tag: number): void {
    this.varint(tag);
    this.varint(this.sizes[this.next++]!);
  }

  /** Passes over a size measured for a message written without a length prefix (the top-level book). */
  skipSize(): void {
    this.next++;
  }

  /** A varint field (an integer or a bool): its tag, then its value. */
  field(tag: number, value: number): void {
    this.varint(tag);
    this.varint(value);
  }

  varint(value: number): void {
    const buffer = this.buffer;
    if (value < 0) {
      this.negative(value);
      return;
    }
    while (value >= 128) {
      buffer[this.pos++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    buffer[this.pos++] = value;
  }

  bytes(tag: number, value: Uint8Array): void {
    this.varint(tag);
    this.varint(value.length);
    this.buffer.set(value, this.pos);
    this.pos += value.length;
  }

  string(tag: number, value: string): void {
    this.varint(tag);
    this.varint(utf8Size(value));
    this.pos += this.buffer.write(value, this.pos, 'utf8');
  }

  done(): Buffer {
    if (this.pos !== this.buffer.length) {
      throw new Error(`event batch encoder: wrote ${this.pos} of ${this.buffer.length} bytes`);
    }
    return this.buffer;
  }

  /** A negative int32/int64: its 64-bit two's complement, as protobuf writes it (10 bytes). */
  private negative(value: number): void {
    let bits = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    for (let i = 0; i < 9; i++) {
      this.buffer[this.pos++] = Number(bits & 127n) | 128;
      bits >>= 7n;
    }
    this.buffer[this.pos++] = Number(bits);
  }
}

const writeBatch = (out: Writer, batch: EventBatch): void => {
  for (const book of batch.books) {
    out.nested(TAG.batchBooks);
    writeBookFields(out, book);
  }
  if (batch.firstPosition !== 0) out.field(TAG.batchFirst, batch.firstPosition);
  if (batch.lastPosition !== 0) out.field(TAG.batchLast, batch.lastPosition);
};

/** A book at the top level: its own size was measured too, but it has no length prefix. */
const writeBook = (out: Writer, book: EventBook): void => {
  out.skipSize();
  writeBookFields(out, book);
};

const writeBookFields = (out: Writer, book: EventBook): void => {
  if (book.cover !== undefined) {
    out.nested(TAG.bookCover);
    const { root, domain } = book.cover;
    if (root !== undefined) {
      out.nested(TAG.coverRoot);
      if (root.value.length !== 0) out.bytes(TAG.uuidValue, root.value);
    }
    if (domain !== '') out.string(TAG.coverDomain, domain);
  }
  if (book.snapshot !== undefined) {
    out.nested(TAG.bookSnapshot);
    const { sequence, state } = book.snapshot;
    if (sequence !== 0) out.field(TAG.snapshotSequence, sequence);
    if (state !== undefined) {
      out.nested(TAG.snapshotState);
      writeAny(out, state);
    }
  }
  for (const page of book.pages) {
    out.nested(TAG.bookPages);
    writePage(out, page);
  }
};

const writePage = (out: Writer, page: EventPage): void => {
  if (page.num !== undefined) out.field(TAG.pageNum, page.num);
  if (page.force !== undefined) out.field(TAG.pageForce, page.force ? 1 : 0);
  if (page.createdAt !== undefined) {
    out.nested(TAG.pageCreatedAt);
    const { seconds, nanos } = page.createdAt;
    if (seconds !== 0) out.field(TAG.timestampSeconds, seconds);
    if (nanos !== 0) out.field(TAG.timestampNanos, nanos);
  }
  if (page.Event !== undefined) {
    out.nested(TAG.pageEvent);
    writeAny(out, page.Event);
  }
  if (page.synchronous !== false) out.field(TAG.pageSynchronous, 1);
  if (page.origin !== undefined) {
    out.nested(TAG.pageOrigin);
    ORIGIN_FIELDS.forEach((field, index) => {
      if (page.origin![field] !== '') out.string(((index + 1) << 3) | 2, page.origin![field]);
    });
  }
};

const writeAny = (out: Writer, any: Any): void => {
  if (any.typeUrl !== '') out.string(TAG.anyTypeUrl, any.typeUrl);
  if (any.value.length !== 0) out.bytes(TAG.anyValue, any.value);
};
