import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, evented, writeConfig } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Configurations a user (or an attacker with write access to evented.yaml) can make: `evented serve` as a
 * subprocess answers with one line and its exit code (cli/main.ts: 1 for a failure, 130 when interrupted), never
 * the "unexpected" path with a stack, and SIGTERM stops it even while a large configuration loads.
 */

const STACK_FRAME = /^\s+at /m;

beforeAll(() => assertBuilt());

/** Nine lines whose aliases would expand into 9^9 (387 million) strings. */
const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'
    .split('')
    .map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
].join('\n');

describe('evented serve with a hostile evented.yaml', () => {
  it('answers an alias bomb with one line and exit code 1', async () => {
    const projectDir = tempDir();
    const file = writeConfig(projectDir, ALIAS_BOMB);
    const serve = evented(['serve', projectDir]);
    const { exitCode } = await serve.exited();
    expect(exitCode).toBe(1);
    const output = serve.output().trimEnd();
    expect(output.split('\n')).toEqual([
      `error: ${file}: not valid YAML: Excessive alias count indicates a resource exhaustion attack (more than 100 aliases expanded)`,
    ]);
    expect(output).not.toMatch(STACK_FRAME);
  });

  it('stops at once on SIGTERM while it loads 64,000 domains: exit code 130, nothing served', async () => {
    const projectDir = tempDir();
    const lines = [
      'name: many',
      'commandHandler: { port: 0 }',
      'queryHandler: { port: 0 }',
      'admin: { port: 0 }',
      'console: { port: 0 }',
    ];
    lines.push(
      'domains:',
      ...Array.from({ length: 64_000 }, (_, i) => `  d${i}: { businessLogic: 127.0.0.1:1737 }`),
    );
    writeConfig(projectDir, `${lines.join('\n')}\n`);
    const serve = evented(['serve', projectDir]);
    // Loading takes seconds (it took 84 s before start-up was made linear); 800 ms in, it is still loading.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const sent = Date.now();
    const { exitCode } = await serve.stop('SIGTERM');
    // Generous for a loaded machine: a few hundred milliseconds when idle.
    expect(Date.now() - sent).toBeLessThan(10_000);
    expect(exitCode).toBe(130);
    expect(serve.output()).not.toContain('evented serving');
    expect(serve.output().trimEnd().split('\n')).toEqual(['error: interrupted']);
  }, 60_000);
});
