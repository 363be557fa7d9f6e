import { beforeAll, expect } from 'vitest';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleProjector } from '../helpers/business-logic.js';
import {
  assertBuilt,
  expectStoppedByDown,
  newProject,
  readRuntimeFile,
  sampleBusinessLogicProcess,
} from '../helpers/cli.js';
import { commandClient } from '../helpers/clients.js';
import { eventedBin } from '../helpers/paths.js';
import { freePort } from '../helpers/ports.js';
import { startProcess } from '../helpers/processes.js';
import { itWith } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The live view of `evented up` on a real terminal (util-linux `script` gives the CLI a pseudo-terminal): once
 * ready, it shows the work flowing through — commands/s, events/s, each projector's lag — and keeps it current
 * while commands arrive; the ready line names the metrics endpoint.
 */

beforeAll(() => assertBuilt());

/** `evented up` on a pseudo-terminal 200 columns wide (a new one has none, and ink would draw a letter per line). */
const upOnTerminal = (dir: string, env: Record<string, string | undefined>) =>
  startProcess(
    'script',
    ['-qec', `stty cols 200 rows 60; exec ${process.execPath} ${eventedBin} up ${dir}`, '/dev/null'],
    {
      cwd: dir,
      env,
    },
  );

/** What ink draws between words (colours, bold): left out, so that patterns read like the screen. */
const plain = (text: string): string => text.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

itWith(
  'script',
  'shows commands/s, events/s and the projector lag, and updates them while commands flow',
  async () => {
    const logicPort = await freePort();
    const metricsPort = await freePort();
    const projector = await startSampleProjector(`${tempDir()}/accounts.json`);
    const { dir } = await newProject({
      domains: { account: { businessLogic: `127.0.0.1:${logicPort}` } },
      processes: { 'business-logic': sampleBusinessLogicProcess(logicPort) },
      projectors: { accounts: { address: projector.address, domains: ['account'] } },
      metrics: { port: metricsPort },
    });
    // Not in CI (CI set would make `up` print plain lines: the second test).
    const up = upOnTerminal(dir, { CI: undefined, CONTINUOUS_INTEGRATION: undefined });
    const screen = {
      /** How much has been drawn so far: waitFor(…, from) looks only at what is drawn after. */
      drawn: (): number => plain(up.output()).length,
      waitFor: async (pattern: RegExp, from = 0, timeoutMs = 60_000): Promise<void> => {
        const deadline = Date.now() + timeoutMs;
        while (!pattern.test(plain(up.output()).slice(from))) {
          if (Date.now() > deadline) throw new Error(`no ${pattern} on the screen:\n${plain(up.output())}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
    };

    // Once ready, the summary names the metrics endpoint, and the view shows the activity, at rest.
    await screen.waitFor(/bank is ready:/);
    await screen.waitFor(new RegExp(`metrics on http://127\\.0\\.0\\.1:${metricsPort}/metrics`));
    await screen.waitFor(/^0 commands\/s +0 events\/s/m);
    await screen.waitFor(/projector accounts +lag 0/);

    // While commands flow, the rates leave 0.
    const commands = commandClient(readRuntimeFile(dir).commandHandler!);
    const before = screen.drawn();
    const sending = (async () => {
      for (let i = 0; i < 40; i += 1) {
        const account = newRoot();
        await commands.handle(command(account, open('ada')));
        await commands.handle(command(account, deposit(10)));
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await screen.waitFor(/^[1-9][\d.,]* commands\/s +[1-9][\d.,]* events\/s/m, before);
    await sending;

    // Then, all handled, the rates fall back to 0 and the projector's lag is 0.
    const sent = screen.drawn();
    await screen.waitFor(/^0 commands\/s +0 events\/s\s+projector accounts +lag 0/m, sent);

    await expectStoppedByDown(dir, up);
    await projector.process.stop();
  },
  120_000,
);

itWith(
  'script',
  'in CI (CI=true), on a terminal too, prints plain lines: ink would draw nothing before the view closes',
  async () => {
    const logicPort = await freePort();
    const { dir } = await newProject({
      domains: { account: { businessLogic: `127.0.0.1:${logicPort}` } },
      processes: { 'business-logic': sampleBusinessLogicProcess(logicPort) },
    });
    const up = upOnTerminal(dir, { CI: 'true' });
    await up.waitFor(/bank is ready: commands on 127\.0\.0\.1:\d+/, 60_000);
    expect(up.output()).not.toMatch(/commands\/s/);
    await expectStoppedByDown(dir, up);
  },
  120_000,
);
