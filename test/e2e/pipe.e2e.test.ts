import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { events, newRoot, opened } from '../helpers/account.js';
import { assertBuilt } from '../helpers/cli.js';
import { eventedBin } from '../helpers/paths.js';
import { startTestRuntime } from '../helpers/runtime.js';

/** The CLI in a real shell pipeline whose reader stops early: it ends quietly, exit 0. */

beforeAll(() => assertBuilt());

/** Runs `evented ARGS | head -n 1` in bash; the pipeline's status is evented's (pipefail; head exits 0). */
const throughHead = (args: string[]) =>
  execa(
    'bash',
    ['-c', 'set -o pipefail; "$0" "$1" "${@:2}" | head -n 1', process.execPath, eventedBin, ...args],
    {
      reject: false,
      timeout: 30_000,
    },
  );

describe('a closed pipe', () => {
  it('`evented tail events | head -n 1` ends quietly with exit 0', async () => {
    // More output than a pipe holds (64 KiB), so that evented writes after head has gone.
    const { runtime, commands } = await startTestRuntime();
    await commands.record(events(newRoot(), ...Array.from({ length: 2000 }, () => opened('ada'))));

    const result = await throughHead([
      'tail',
      'events',
      '--address',
      runtime.admin.address,
      '--from',
      '1',
      '--no-follow',
    ]);

    expect(result.stdout).toMatch(
      /^\s+1 {2}\S+ {2}account\/[0-9a-f-]{36} {2}#0 {2}account\.v1\.AccountOpened/,
    );
    expect(result.stdout.split('\n')).toHaveLength(1);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });

  it('`evented help` piped into a reader that is gone ends quietly too', async () => {
    // A reader that has already exited: the very first write fails.
    const result = await execa(
      'bash',
      ['-c', 'set -o pipefail; "$0" "$1" --help | true', process.execPath, eventedBin],
      {
        reject: false,
      },
    );
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
  });
});
