import { describe, expect, it } from 'vitest';
import { isUuidText, timeOrderedUuid } from '../../runtime/protocol/uuid.js';

// The ids the runtime makes up for correlations and commands are UUIDv7: the store's correlation index then grows
// at its end, as the log does (runtime/protocol/uuid.ts says what a random key costs).
describe('timeOrderedUuid', () => {
  it('is a version 7 UUID whose first 48 bits are the time in milliseconds', () => {
    const at = Date.UTC(2026, 11, 3, 12, 0, 0);
    const id = timeOrderedUuid(at);
    expect(isUuidText(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
    expect(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
  });

  it('sorts as text in the order the ids were made, a millisecond apart', () => {
    const ids = [0, 1, 2, 1000, 86_400_000].map((delta) => timeOrderedUuid(1_796_000_000_000 + delta));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set([timeOrderedUuid(1), timeOrderedUuid(1)]).size).toBe(2);
  });
});
