import { beforeAll, describe, expect, it } from 'vitest';
import { events, newRoot, opened } from '../helpers/account.js';
import { assertBuilt, runEvented } from '../helpers/cli.js';
import { startRecordingProjector } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startTestRuntime } from '../helpers/runtime.js';

/**
 * `evented replay --dry-run`: how much a replay would deliver and how long it would take, estimated from this
 * projector's own measured rate once there is one, and otherwise said to be an assumption; with --json, a
 * document that says it is a dry run.
 */

interface Progress {
  events: number;
  total: number;
  eventsPerSecond: number;
  done: boolean;
  dryRun: boolean;
  rateMeasured: boolean;
}

beforeAll(() => assertBuilt());

describe('evented replay --dry-run', () => {
  it('speaks of this projector: an assumption until one of its replays is measured, then that rate', async () => {
    const projector = await startRecordingProjector();
    const { runtime, commands } = await startTestRuntime({
      projectors: { accounts: { address: projector.address, domains: ['account'] } },
    });
    await commands.record(events(newRoot(), ...Array.from({ length: 1200 }, () => opened('ada'))));
    await eventually(() => expect(projector.delivered).toHaveLength(1200));
    const replay = (...args: string[]) =>
      runEvented(['replay', '--projector', 'accounts', '--address', runtime.admin.address, ...args]);

    // Before any replay: the estimate is an assumption, and says so.
    const before = await replay('--dry-run');
    expect(before.exitCode).toBe(0);
    expect(before.stdout).toMatch(
      /^dry run: replay of projector accounts would deliver 1,200 events of 1 aggregates after position 0; about \d+s if it takes 25,000 events\/s: an assumption, since no replay of it has been measured yet/,
    );
    expect(before.stdout).not.toMatch(/bench|npm/);
    const beforeJson = await replay('--dry-run', '--json');
    expect(beforeJson.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(beforeJson.stdout) as Progress).toMatchObject({
      dryRun: true,
      rateMeasured: false,
      total: 1200,
      events: 0,
      done: false,
    });

    // A real replay is not a dry run; its rate is measured.
    const real = await replay('--json');
    const last = JSON.parse(real.stdout.trim().split('\n').pop()!) as Progress;
    expect(last).toMatchObject({ done: true, events: 1200, dryRun: false });

    // After it: the estimate is this projector's own rate.
    const after = await replay('--dry-run', '--json');
    expect(JSON.parse(after.stdout) as Progress).toMatchObject({
      dryRun: true,
      rateMeasured: true,
      eventsPerSecond: last.eventsPerSecond,
    });
    const text = await replay('--dry-run');
    expect(text.stdout).toMatch(/; about \d+s at [\d,]+ events\/s, the rate of its last replay\n$/);
  });
});
