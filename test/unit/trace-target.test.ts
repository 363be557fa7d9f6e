import { describe, expect, it } from 'vitest';
import { parseTraceTarget } from '../../cli/commands/trace.js';
import { UsageError } from '../../cli/errors.js';
import { uuidToBytes } from '../../runtime/protocol/uuid.js';

/** What `evented trace` takes (cli/commands/trace.ts): a correlation id, or an event whose correlation is traced. */

const ROOT = '3f2b5c1e-8d4a-4f7e-9b1c-2a6d0e5f7c3b';

describe('parseTraceTarget', () => {
  it('takes DOMAIN/UUID/SEQUENCE as an event', () => {
    expect(parseTraceTarget(`account/${ROOT}/4`)).toEqual({
      correlationId: '',
      aggregate: { domain: 'account', root: { value: uuidToBytes(ROOT) } },
      sequence: 4,
      limit: 0,
    });
  });

  it('takes anything else printable as a correlation id', () => {
    for (const id of ['transfer-1', ROOT, 'order:42', 'a/b']) {
      expect(parseTraceTarget(id)).toMatchObject({ correlationId: id, aggregate: undefined });
    }
  });

  it('refuses an event with a bad root or sequence, an empty id and one with spaces, as usage mistakes', () => {
    for (const bad of ['account/not-a-uuid/1', `account/${ROOT}/99999999999`, '', 'two words', 'tab\tbed']) {
      expect(() => parseTraceTarget(bad), bad).toThrow(UsageError);
    }
  });
});
