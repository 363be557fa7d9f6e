import { expect, it } from 'vitest';
import { freePort } from '../../runtime/support/net.js';

/**
 * freePort hands out ports that are free now and taken a moment later (a configuration's seven servers, a broker
 * node's two ports): one process must never be given the same port twice, or two of its servers meet on it.
 */
it('never gives one process the same port twice', async () => {
  const ports: number[] = [];
  for (let i = 0; i < 400; i++) ports.push(await freePort());
  expect(new Set(ports).size).toBe(ports.length);
});
