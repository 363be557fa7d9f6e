import { beforeAll, expect, it } from 'vitest';
import { command, deposit, newRoot, open, withdraw } from '../helpers/account.js';
import { startSampleBusinessLogic, startSampleProjector } from '../helpers/business-logic.js';
import { assertBuilt, errorLines, evented, newProject, runEvented, startServe } from '../helpers/cli.js';
import { commandClient, type CommandClient } from '../helpers/clients.js';
import { eventually } from '../helpers/eventually.js';
import { freePort, occupiedPort } from '../helpers/ports.js';
import { startPrometheus } from '../helpers/prometheus.js';
import { itWith } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The metrics of a real `evented serve` as a real Prometheus (Debian's) scrapes them: what a user's dashboard
 * and alerts would read. Commands go through real gRPC to the runtime, which calls the sample business logic
 * and delivers to the sample projector, each its own process.
 */

beforeAll(() => assertBuilt());

/** Sends `book`, and says how it ended: "ok", or the gRPC status name the caller got. */
const send = async (commands: CommandClient, book: Parameters<CommandClient['handle']>[0]): Promise<string> =>
  commands.handle(book).then(
    () => 'ok',
    (err: { code?: number }) => `code ${err.code}`,
  );

itWith(
  'prometheus',
  'Prometheus reads the commands by outcome as they were sent, and a projector lag that grows while it is down and returns to 0',
  async (prometheusBinary) => {
    const readModel = `${tempDir()}/accounts.json`;
    const logic = await startSampleBusinessLogic();
    const projectorPort = await freePort();
    let projector = await startSampleProjector(readModel, { port: projectorPort });
    const metricsPort = await freePort();
    const { dir } = await newProject({
      domains: { account: { businessLogic: logic.address } },
      projectors: { accounts: { address: projector.address, domains: ['account'] } },
      metrics: { port: metricsPort },
    });
    const serve = await startServe(dir);
    const prometheus = await startPrometheus(prometheusBinary, [`127.0.0.1:${metricsPort}`]);
    const commands = commandClient(serve.commands);

    // `evented status` names the endpoint.
    const status = await runEvented(['status', '--dir', dir]);
    expect(status.stdout + status.stderr).toContain(`http://127.0.0.1:${metricsPort}/metrics`);

    // Given 3 accounts opened and 6 deposits (accepted), 4 withdrawals beyond the balance (rejected by business
    // logic) and 2 commands for an account that does not exist yet (rejected too)…
    const accounts = [newRoot(), newRoot(), newRoot()];
    const outcomes: string[] = [];
    for (const account of accounts) outcomes.push(await send(commands, command(account, open('ada'))));
    for (const account of accounts) {
      outcomes.push(await send(commands, command(account, deposit(10))));
      outcomes.push(await send(commands, command(account, deposit(5))));
    }
    for (const account of [...accounts, accounts[0]!])
      outcomes.push(await send(commands, command(account, withdraw(1000))));
    for (let i = 0; i < 2; i += 1) outcomes.push(await send(commands, command(newRoot(), deposit(1))));
    const accepted = outcomes.filter((outcome) => outcome === 'ok').length;
    expect(accepted).toBe(9);

    // …Prometheus counts each outcome as it was sent, nothing more.
    const byOutcome = async (): Promise<Record<string, number>> =>
      Object.fromEntries(
        (await prometheus.query('sum by (outcome) (evented_commands_total{domain="account"})'))
          .filter(({ value }) => value > 0)
          .map(({ labels, value }) => [labels.outcome, value]),
      );
    await eventually(async () => expect(await byOutcome()).toEqual({ ok: 9, rejected: 6 }), 30_000, 200);
    expect(await prometheus.value('sum(evented_events_appended_total{domain="account"})')).toBe(9);

    // The projector has caught up: its lag is 0, and its position is the store's head.
    const lag = 'evented_subscriber_lag_events{kind="projector",subscriber="accounts"}';
    await eventually(async () => expect(await prometheus.value(lag)).toBe(0), 30_000, 200);
    expect(await prometheus.value('evented_store_head_position')).toBe(9);

    // While the projector is down, events still committed are not handled: the lag grows…
    await projector.process.stop();
    for (const account of accounts) expect(await send(commands, command(account, deposit(1)))).toBe('ok');
    await eventually(async () => expect(await prometheus.value(lag)).toBe(3), 30_000, 200);

    // …and once it is back, it catches up: 0 again.
    projector = await startSampleProjector(readModel, { port: projectorPort });
    await eventually(async () => expect(await prometheus.value(lag)).toBe(0), 60_000, 200);
    expect(await prometheus.value('evented_store_head_position')).toBe(12);

    await prometheus.stop();
    await serve.process.stop();
    await projector.process.stop();
    await logic.process.stop();
  },
  120_000,
);

it('a busy metrics port, or a host other than loopback without allowRemote, is one line and a non-zero exit', async () => {
  const busy = await occupiedPort();
  const cases: [object, string][] = [
    [
      { port: busy },
      `error: the metrics endpoint cannot listen on 127.0.0.1:${busy}: the port is already in use`,
    ],
    [{ host: '0.0.0.0', port: 0 }, 'metrics.host: the metrics endpoint has no authentication'],
  ];
  for (const [metrics, expected] of cases) {
    const { dir } = await newProject({ metrics });
    const serve = evented(['serve', dir]);
    const { exitCode } = await serve.exited();
    expect(exitCode, serve.output()).not.toBe(0);
    const errors = errorLines(serve.output());
    expect(errors, serve.output()).toHaveLength(1);
    expect(errors[0]).toContain(expected);
    expect(serve.output()).not.toMatch(/^\s+at /m);
  }
});
