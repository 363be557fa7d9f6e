import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { assertBuilt, isRunning, readRuntimeFile, runEvented } from '../helpers/cli.js';
import { deleteAmqpTopology } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { readAccounts } from '../helpers/read-model.js';
import { scaffoldSample } from '../helpers/sample-project.js';
import { describeWith } from '../helpers/services.js';

/**
 * The main job, as a user does it, only through the CLI (each command a real process): init → up → send → tail
 * → replay and rebuild a projector → status → down, leaving no process behind. On the embedded defaults, and
 * with --bus pointing at the real RabbitMQ.
 */

const STACK_FRAME = /^\s+at /m;

beforeAll(() => assertBuilt());

interface BusChoice {
  /** What evented.yaml says about the bus. */
  configure(config: ReturnType<typeof parseDocument>): void;
  /** What `evented up` is told. */
  upArgs: string[];
  kind: string;
}

/** The main job on the bus `busChoice()` gives (called once per test). */
const mainJob = (busChoice: () => BusChoice): void => {
  it('init → up → send → tail → rebuild → replay → status → down, leaving nothing running', async () => {
    const dir = await scaffoldSample();
    const cli = async (...args: string[]) => {
      const result = await runEvented(args, { cwd: dir });
      expect(result.stderr).not.toMatch(STACK_FRAME);
      return result;
    };
    const bus = busChoice();
    const config = parseDocument(readFileSync(join(dir, 'evented.yaml'), 'utf8'));
    bus.configure(config);
    writeFileSync(join(dir, 'evented.yaml'), config.toString());

    const up = await cli('up', '--detach', ...bus.upArgs);
    expect(up.exitCode, up.stdout + up.stderr).toBe(0);
    const running = readRuntimeFile(dir);
    const pids = [running.pid, ...running.components.flatMap((c) => (c.pid ? [c.pid] : []))];
    try {
      const ada = /aggregate (\S+):/.exec(
        (await cli('send', 'account', 'new', 'OpenAccount', '{"owner":"ada"}')).stdout,
      )![1]!;
      const bob = /aggregate (\S+):/.exec(
        (await cli('send', 'account', 'new', 'OpenAccount', '{"owner":"bob"}')).stdout,
      )![1]!;
      expect((await cli('send', 'account', ada, 'Deposit', '{"amount": 100}')).exitCode).toBe(0);
      const transfer = await cli(
        'send',
        'account',
        ada,
        'TransferMoney',
        JSON.stringify({ toAccount: bob, amount: 30 }),
      );
      expect(transfer.stdout).toContain('account.v1.MoneyTransferredOut');

      // The saga credits bob through the business logic; tail shows it.
      const tail = await eventually(async () => {
        const result = await cli('tail', 'events', '--domain', 'account', '--root', bob, '--no-follow');
        expect(result.stdout).toContain('account.v1.TransferReceived {"fromAccount":');
        return result;
      }, 30_000);
      expect(tail.exitCode).toBe(0);

      const readModel = join(dir, 'read-model/accounts.json');
      const expected = {
        [ada]: { open: true, owner: 'ada', balance: 70, sequence: 2 },
        [bob]: { open: true, owner: 'bob', balance: 30, sequence: 1 },
      };
      await eventually(() => expect(readAccounts(readModel)).toEqual(expected), 30_000);

      writeFileSync(readModel, '{}');
      expect((await cli('rebuild', 'accounts')).exitCode).toBe(0);
      expect(readAccounts(readModel)).toEqual(expected);
      expect((await cli('replay', '--projector', 'accounts', '--from', '1')).exitCode).toBe(0);
      expect(readAccounts(readModel)).toEqual(expected);

      const status = await eventually(async () => {
        const result = await cli('status');
        expect(result.exitCode, result.stdout + result.stderr).toBe(0);
        expect(result.stdout).toMatch(/accounts\s+projector\s+live\s+5\s+0\s/);
        return result;
      }, 30_000);
      expect(status.stdout).toMatch(new RegExp(`bus\\s+${bus.kind}\\s`));
    } finally {
      const down = await cli('down');
      expect(down.exitCode, down.stdout + down.stderr).toBe(0);
    }
    expect(pids.filter(isRunning)).toEqual([]);
  }, 180_000);
};

describe('the main job on the embedded defaults', () =>
  mainJob(() => ({ configure: () => undefined, upArgs: [], kind: 'memory' })));

describeWith('rabbitmq', 'the main job on --bus pointing at the real RabbitMQ', (amqpUrl) => {
  const exchanges: string[] = [];
  afterAll(async () => {
    for (const exchange of exchanges) {
      await deleteAmqpTopology(amqpUrl, exchange, ['projector:accounts', 'saga:transfers']);
    }
  });
  mainJob(() => {
    // An exchange of its own (its queues are named after it), so that concurrent runs do not meet.
    const exchange = `evented-test-${randomUUID()}`;
    exchanges.push(exchange);
    return {
      configure: (config) => config.set('bus', { kind: 'amqp', url: 'amqp://127.0.0.1:1', exchange }),
      upArgs: ['--bus', amqpUrl],
      kind: 'amqp',
    };
  });
});
