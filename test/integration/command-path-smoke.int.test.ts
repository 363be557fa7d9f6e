import { describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { command, deposit, eventsOf, newRoot, open, withdraw } from '../helpers/account.js';
import { failure } from '../helpers/clients.js';

describe('the command path with the sample business logic', () => {
  it('stores the events of accepted commands and refuses a withdrawal over the balance', async () => {
    const logic = await startSampleBusinessLogic();
    const { commands, queries } = await startTestRuntime({
      domains: { account: { businessLogic: logic.address } },
    });
    const root = newRoot();

    await commands.handle(command(root, open('ada')));
    const response = await commands.handle(command(root, deposit(100), withdraw(30)));
    expect(eventsOf(response.books)).toEqual([
      { sequence: 1, type: 'MoneyDeposited', amount: 100, balance: 100 },
      { sequence: 2, type: 'MoneyWithdrawn', amount: 30, balance: 70 },
    ]);
    await expect(commands.handle(command(root, withdraw(500)))).rejects.toMatchObject(
      failure(status.FAILED_PRECONDITION, /insufficient funds/),
    );
    const books = await queries.getEvents({ domain: 'account', root: { value: root } });
    expect(eventsOf(books).map((e) => e.type)).toEqual(['AccountOpened', 'MoneyDeposited', 'MoneyWithdrawn']);
  });
});
