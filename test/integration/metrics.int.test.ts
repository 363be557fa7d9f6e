import { describe, expect, it } from 'vitest';
import { command, deposit, newRoot, open, withdraw } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { adminCalls } from '../helpers/clients.js';
import { startRecordingProjector } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { startInterloper } from '../helpers/interloper.js';
import { startTestRuntime } from '../helpers/runtime.js';

/**
 * The metrics of a real runtime (in-process bus, SQLite, real gRPC services in the test process), read from its
 * /metrics endpoint as Prometheus would: what its delivery does (deliveries, failed calls, open dead letters, a
 * replay's progress), what its command handler does when another writer keeps winning (conflicts, retries,
 * the outcome), and that two runtimes in one process each export their own.
 */

/** One scrape: each series (name and labels, as written) and its value. */
const scrape = async (url: string): Promise<Map<string, number>> => {
  const text = await (await fetch(url)).text();
  return new Map(
    text
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const at = line.lastIndexOf(' ');
        return [line.slice(0, at), Number(line.slice(at + 1))];
      }),
  );
};

const RECORDING = 'kind="projector",subscriber="recording"';

describe('the metrics of a runtime', () => {
  it("count a projector's deliveries, its failed calls and open dead letters, and a replay's progress", async () => {
    const projector = await startRecordingProjector({
      refuse: (_account, _page, event) =>
        event?.type === 'MoneyDeposited' && event.amount === 13 ? 'no 13' : undefined,
    });
    const logic = await startSampleBusinessLogic();
    const { commands, runtime } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
      delivery: { maxAttempts: 3, retryDelayMs: 10 },
      metrics: { port: 0 },
    });
    const url = runtime.metrics!.url;
    const [ada, bob] = [newRoot(), newRoot()];
    await commands.handle(command(ada, open('ada'), deposit(13)));
    await commands.handle(command(bob, open('bob'), deposit(5)));

    // ada's book (open, deposit 13) is refused three times (maxAttempts), then page by page: her opening goes
    // through, the deposit of 13 is refused three times more and set aside. 3 events delivered, 6 failed calls.
    const expected = {
      [`evented_subscriber_deliveries_total{${RECORDING}}`]: 3,
      [`evented_subscriber_failures_total{${RECORDING}}`]: 6,
      [`evented_subscriber_dead_letters_open{${RECORDING}}`]: 1,
      [`evented_subscriber_lag_events{${RECORDING}}`]: 0,
      evented_store_head_position: 4,
      evented_relay_lag_events: 0,
      'evented_events_appended_total{domain="account"}': 4,
      'evented_appends_total{domain="account"}': 2,
    };
    await eventually(async () => {
      const series = await scrape(url);
      expect(Object.fromEntries(Object.keys(expected).map((name) => [name, series.get(name)]))).toEqual(
        expected,
      );
    });

    // A replay reports its progress: all 4 events of the log, of 4.
    await adminCalls(runtime.admin.address).replay({ subscriber: 'recording' });
    const after = await scrape(url);
    expect(after.get(`evented_subscriber_replay_events_replayed{${RECORDING}}`)).toBe(4);
    expect(after.get(`evented_subscriber_replay_events_to_replay{${RECORDING}}`)).toBe(4);
  });

  it('count each conflict and retry of a command whose aggregate keeps changing, and its outcome', async () => {
    // Business logic that, every time it is asked, lets another writer (another runtime on the store) append first.
    const { projectDir, root, logic } = await startInterloper();
    const { commands, runtime } = await startTestRuntime(
      {
        commandHandler: { conflictRetries: 3 },
        domains: { account: { businessLogic: logic.address } },
        metrics: { port: 0 },
      },
      { projectDir },
    );
    await expect(commands.handle(command(root, deposit(10)))).rejects.toMatchObject({ code: 10 });

    // 4 attempts: each lost its race (4 conflicts), 3 of them were decided again, and the command was aborted.
    const series = await scrape(runtime.metrics!.url);
    const account = 'domain="account"';
    expect({
      conflicts: series.get(`evented_command_conflicts_total{${account}}`),
      retries: series.get(`evented_command_retries_total{${account}}`),
      decisions: series.get(`evented_business_logic_duration_seconds_count{${account}}`),
      aborted: series.get(`evented_commands_total{${account},outcome="conflict-aborted"}`),
      ok: series.get(`evented_commands_total{${account},outcome="ok"}`),
      appended: series.get(`evented_events_appended_total{${account}}`),
    }).toEqual({ conflicts: 4, retries: 3, decisions: 4, aborted: 1, ok: 0, appended: undefined });
  });

  it('two runtimes in one process each count their own commands, on their own endpoint', async () => {
    const logic = await startSampleBusinessLogic();
    const config = { domains: { account: { businessLogic: logic.address } }, metrics: { port: 0 } };
    const [a, b] = [await startTestRuntime(config), await startTestRuntime(config)];
    const root = newRoot();
    await a.commands.handle(command(root, open('ada')));
    await a.commands.handle(command(root, deposit(5)));
    await a.commands.handle(command(root, withdraw(500))).catch(() => undefined);

    const ok = 'evented_commands_total{domain="account",outcome="ok"}';
    const rejected = 'evented_commands_total{domain="account",outcome="rejected"}';
    const [fromA, fromB] = [await scrape(a.runtime.metrics!.url), await scrape(b.runtime.metrics!.url)];
    expect([fromA.get(ok), fromA.get(rejected)]).toEqual([2, 1]);
    expect([fromB.get(ok), fromB.get(rejected)]).toEqual([0, 0]);
    expect(a.runtime.metrics!.url).not.toBe(b.runtime.metrics!.url);
  });
});
