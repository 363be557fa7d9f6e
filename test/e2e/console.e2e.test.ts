import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import type { ReplayView, StatusView } from '../../runtime/console/api.js';
import type { AccountCommand } from '../../templates/typescript/src/domain.js';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import {
  chooseTheme,
  launchChromium,
  openConsole,
  screenshotBothThemes,
  type ConsolePage,
} from '../helpers/browser.js';
import { assertBuilt, runEvented } from '../helpers/cli.js';
import { commandClient } from '../helpers/clients.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/ports.js';
import { readAccounts } from '../helpers/read-model.js';
import { breakProjector, scaffoldSample } from '../helpers/sample-project.js';
import { describeWith } from '../helpers/services.js';

/**
 * The web console in a real browser (Debian's chromium, headless, 1280×800), against a real `evented up` of the
 * sample `evented init` makes (account domain, accounts projector, transfers saga), driven only through its pages
 * and the CLI: a sent command shows on the Events page live, then on its aggregate's page and its trace; a
 * projector's dead letter is shown, retried (the read model changes) and skipped (the decision recorded); a rebuild
 * started from the page moves its progress bar to done, and one whose projector is killed shows why it stopped;
 * a page elsewhere cannot drive an action. Screenshots of every page, light and dark, go to test-artifacts/console.
 */

const STACK_FRAME = /^\s+at /m;
/** How long a page may take to show what it is waited for (expect.poll's own default is 1 s). */
const POLL = { timeout: 15_000 };
const rootOf = (stdout: string): string => /aggregate (\S+):/.exec(stdout)![1]!;
/** The console's short form of a UUID (console/format.ts shortId). */
const shortId = (id: string): string => `${id.slice(0, 8)}…${id.slice(-4)}`;

/**
 * The projector slowed or stopped on demand. While the file `slow` is in the project, each event it is given costs
 * it 0.3 ms, so that a rebuild of some 30,000 events lasts seconds (it reports its progress once per 10,000-event
 * page of the log) and its progress can be watched. While the file `down` is there, it answers UNAVAILABLE, as a
 * projector that is stopped (killing its process would not do: `evented up` starts it again at once).
 */
const controlProjector = (dir: string): void => {
  const path = join(dir, 'src/projector.ts');
  const control = `
const DOWN = { code: 14, details: 'the accounts projector is stopped' };
const stopped = (): boolean => existsSync(${JSON.stringify(join(dir, 'down'))});
const slow = (books: EventBook[]): void => {
  if (existsSync(${JSON.stringify(join(dir, 'slow'))})) {
    const events = books.reduce((n, book) => n + book.pages.length, 0);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0.3 * events);
  }
};

export const accountsProjector`;
  const patched = readFileSync(path, 'utf8')
    .replace('export const accountsProjector', control)
    .replace(
      'if (call.request.books.some(refuses)) return callback(REFUSED);',
      'if (call.request.books.some(refuses)) return callback(REFUSED);\n      if (stopped()) return callback(DOWN);\n      slow(call.request.books);',
    )
    .replace(
      'if (refuses(call.request)) return callback(REFUSED);',
      'if (refuses(call.request)) return callback(REFUSED);\n      if (stopped()) return callback(DOWN);\n      slow([call.request]);',
    );
  expect(patched.match(/ slow\(/g)?.length).toBe(2);
  expect(patched.match(/callback\(DOWN\)/g)?.length).toBe(2);
  writeFileSync(path, patched);
};

describeWith('chromium', 'the web console in a real browser', (chromiumPath) => {
  let dir: string;
  let consoleUrl: string;
  let commands: string;
  let browser: Browser;
  const opened: ConsolePage[] = [];

  const cli = async (...args: string[]) => {
    const result = await runEvented(args, { cwd: dir });
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    return result;
  };
  const newAccount = async (owner: string): Promise<string> =>
    rootOf((await cli('send', 'account', 'new', 'OpenAccount', JSON.stringify({ owner }))).stdout);

  /** A page of the console at `hash`, its errors checked when the test ends. */
  const show = async (hash: string, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> => {
    const opening = await openConsole(browser, consoleUrl, colorScheme);
    opened.push(opening);
    await opening.page.goto(`/${hash}`);
    return opening.page;
  };
  const expectNoPageErrors = () => {
    for (const { problems } of opened.splice(0)) expect(problems).toEqual([]);
  };

  beforeAll(async () => {
    assertBuilt();
    dir = await scaffoldSample();
    breakProjector(dir);
    controlProjector(dir);
    const config = parseDocument(readFileSync(join(dir, 'evented.yaml'), 'utf8'));
    config.setIn(['delivery'], { maxAttempts: 2, retryDelayMs: 20, maxBackoffMs: 500 });
    writeFileSync(join(dir, 'evented.yaml'), config.toString());
    consoleUrl = `http://127.0.0.1:${String(config.getIn(['console', 'port']))}`;
    commands = `127.0.0.1:${String(config.getIn(['commandHandler', 'port']))}`;
    const up = await runEvented(['up', '--detach'], { cwd: dir });
    expect(up.exitCode, up.stdout + up.stderr).toBe(0);
    browser = await launchChromium(chromiumPath);
  }, 180_000);
  afterAll(async () => {
    for (const { context } of opened) await context.close();
    await browser?.close();
    if (dir) await runEvented(['down'], { cwd: dir });
  });

  it('shows a command sent with `evented send` on the Events page within 1 s, without a reload; then its aggregate and its trace', async () => {
    const page = await show('#/events');
    await expect.poll(() => page.getByTestId('live-mark').getAttribute('data-state'), POLL).toBe('live');
    await page.evaluate('window.notReloaded = true');

    // When a command is sent from the CLI, its event is on the page within a second
    const sent = await cli('send', 'account', 'new', 'OpenAccount', '{"owner":"ada"}');
    const sentAt = Date.now();
    const ada = rootOf(sent.stdout);
    const row = page.locator(`[data-testid=event-row][data-root="${ada}"]`);
    await row.waitFor({ timeout: 1000 });
    expect(Date.now() - sentAt).toBeLessThan(1000);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    await expect.poll(() => row.getAttribute('data-type'), POLL).toBe('AccountOpened');

    // … newest first, its payload as JSON on demand
    await cli('send', 'account', ada, 'Deposit', '{"amount": 50}', '--correlation-id', 'console-1');
    const rows = page.getByTestId('event-row');
    await expect.poll(() => rows.first().getAttribute('data-type'), POLL).toBe('MoneyDeposited');
    await rows.first().getByTestId('payload-toggle').click();
    // (int64 fields are strings in proto3's JSON mapping)
    expect(JSON.parse(await rows.first().getByTestId('payload-json').innerText())).toEqual({
      amount: '50',
      balance: '50',
    });
    await screenshotBothThemes(page, 'events');

    // Its aggregate: the events in order, the commands that made them
    await page
      .locator(`[data-testid=event-row][data-root="${ada}"][data-type=AccountOpened]`)
      .getByTestId('event-aggregate')
      .click();
    expect(new URL(page.url()).hash).toBe(`#/aggregates/account/${ada}`);
    const events = page.getByTestId('aggregate-event');
    await expect.poll(() => events.count(), POLL).toBe(2);
    expect(await events.allInnerTexts()).toEqual([
      expect.stringMatching(/^0\s.*AccountOpened\s+OpenAccount/),
      expect.stringMatching(/^1\s.*MoneyDeposited\s+Deposit/),
    ]);
    const madeBy = await page.getByTestId('aggregate-command').allInnerTexts();
    expect(madeBy).toEqual([
      expect.stringMatching(/^OpenAccount\s/),
      expect.stringMatching(/^Deposit\s.*console-1\s+a client\s+1$/),
    ]);
    await screenshotBothThemes(page, 'aggregate');

    // Its trace: the command, its event, the projector and the saga that applied it
    await page.goto('/#/events');
    await page
      .locator(`[data-testid=event-row][data-type=MoneyDeposited][data-root="${ada}"]`)
      .getByTestId('event-trace')
      .click();
    expect(new URL(page.url()).hash).toBe('#/trace/console-1');
    await expect.poll(() => page.getByTestId('trace-correlation').innerText(), POLL).toBe('console-1');
    expect(await page.getByTestId('trace-command').getAttribute('data-type')).toBe('Deposit');
    const deliveries = page.getByTestId('trace-delivery');
    await eventually(async () => {
      await page.getByTestId('trace-refresh').click();
      expect(
        await Promise.all(
          (await deliveries.all()).map(
            async (d) => `${await d.getAttribute('data-subscriber')} ${await d.getAttribute('data-state')}`,
          ),
        ),
      ).toEqual(['accounts applied', 'transfers applied']);
    }, 30_000);
    expect(await deliveries.first().innerText()).toMatch(/\+\d+ ms/);
    await screenshotBothThemes(page, 'trace');

    // The log filtered by aggregate and type: only ada's deposits, the filter in the address
    await page.goto('/#/events');
    await page.getByTestId('filter-domain').fill('account');
    await page.getByTestId('filter-root').fill(ada);
    await page.getByTestId('filter-type').fill('MoneyDeposited');
    await page.getByTestId('filter-apply').click();
    expect(new URL(page.url()).hash).toBe(`#/events?domain=account&root=${ada}&type=MoneyDeposited`);
    await expect.poll(() => rows.count(), POLL).toBe(1);
    expect([await rows.getAttribute('data-root'), await rows.getAttribute('data-type')]).toEqual([
      ada,
      'MoneyDeposited',
    ]);

    // A transfer's trace: the saga's command to the other account, nested under the saga, and its own deliveries
    const bob = await newAccount('bob');
    const transfer = JSON.stringify({ toAccount: bob, amount: 30 });
    await cli('send', 'account', ada, 'TransferMoney', transfer, '--correlation-id', 'console-2');
    await page.goto('/#/trace/console-2');
    await eventually(async () => {
      await page.getByTestId('trace-refresh').click();
      const received = page.locator('[data-testid=trace-command][data-type=ReceiveTransfer]');
      expect(await received.count()).toBe(1);
      expect(await page.locator('[data-testid=trace-delivery][data-state=applied]').count()).toBe(4);
    }, 30_000);
    await screenshotBothThemes(page, 'trace-transfer');
    expectNoPageErrors();
  });

  it("shows a projector's dead letter; retry from the console delivers it and the read model changes; skip records the decision", async () => {
    const carol = await newAccount('carol');
    await cli('send', 'account', carol, 'Deposit', '{"amount": 13}', '--correlation-id', 'poison-1');
    const page = await show('#/subscribers');

    // The letter shows, with its error and its event
    const letter = page.locator(`[data-testid=dead-letter]:has(a[title="account/${carol}"])`);
    await eventually(async () => {
      await page.getByTestId('dead-letters-refresh').click();
      expect(await letter.getAttribute('data-state')).toBe('open');
    }, 30_000);
    const id = await letter.getAttribute('data-id');
    await letter.getByTestId('dead-letter-show').click();
    const detail = page.getByTestId('dead-letter-detail');
    expect(await detail.innerText()).toContain('the projector cannot take a deposit of 13');
    expect(await detail.locator('pre').innerText()).toMatch(/"amount": "13"/);
    await expect
      .poll(
        () =>
          page
            .locator(
              '[data-testid=subscriber-row][data-name=accounts] [data-testid=subscriber-dead-lettered]',
            )
            .innerText(),
        POLL,
      )
      .not.toBe('0');
    await screenshotBothThemes(page, 'subscribers-dead-letter');

    // Retry asks first, naming the letter; cancelled, nothing happens
    await letter.getByTestId('dead-letter-retry').click();
    expect(await page.getByTestId('confirm-question').innerText()).toBe(
      `Retry dead letter #${id} of projector accounts (account/${shortId(carol)}/1)? Its event is delivered to accounts again.`,
    );
    await page.getByTestId('confirm-cancel').click();
    expect(await page.getByTestId('confirm-dialog').count()).toBe(0);
    expect(await letter.getAttribute('data-state')).toBe('open');

    // Once the projector is fixed, a confirmed retry delivers it: the read model has the deposit
    rmSync(join(dir, 'refuse-13'));
    await letter.getByTestId('dead-letter-retry').click();
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
    await eventually(
      () => expect(readAccounts(join(dir, 'read-model/accounts.json'))[carol]).toMatchObject({ balance: 13 }),
      30_000,
    );
    await letter.waitFor({ state: 'detached' }); // no longer among the open ones

    // Skip: another poisoned deposit, skipped from the console; the decision is recorded, by whom
    writeFileSync(join(dir, 'refuse-13'), '');
    const dave = await newAccount('dave');
    await cli('send', 'account', dave, 'Deposit', '{"amount": 13}');
    const daves = page.locator(`[data-testid=dead-letter]:has(a[title="account/${dave}"])`);
    await eventually(async () => {
      await page.getByTestId('dead-letters-refresh').click();
      expect(await daves.getAttribute('data-state')).toBe('open');
    }, 30_000);
    const daveId = await daves.getAttribute('data-id');
    await daves.getByTestId('dead-letter-skip').click();
    expect(await page.getByTestId('confirm-question').innerText()).toMatch(
      new RegExp(`^Skip dead letter #${daveId} of projector accounts \\(account/${shortId(dave)}/1\\)\\?`),
    );
    await page.getByTestId('confirm-ok').click();
    await daves.waitFor({ state: 'detached' });
    await page.getByTestId('dead-letters-state').selectOption('skipped');
    expect(await daves.getAttribute('data-state')).toBe('skipped');
    expect(await daves.getByTestId('dead-letter-decided').innerText()).toMatch(/^by \S+/);
    expect(readAccounts(join(dir, 'read-model/accounts.json'))[dave]).toMatchObject({ balance: 0 });
    rmSync(join(dir, 'refuse-13'));
    expectNoPageErrors();
  });

  it('runs a rebuild started from the console to "done" with its progress bar moving; a projector stopped mid-way shows the error', async () => {
    // Given some 30,000 events (300 accounts of 100), all delivered, and then a projector that takes 0.3 ms an event
    const client = commandClient(commands);
    const bulk = (): AccountCommand[] => [open('bulk'), ...Array.from({ length: 99 }, () => deposit(1))];
    for (let round = 0; round < 15; round++) {
      await Promise.all(
        Array.from({ length: 20 }, () => client.handle(command(newRoot(), ...bulk()), 30_000)),
      );
    }
    client.close();
    const page = await show('#/subscribers');
    const accounts = page.locator('[data-testid=subscriber-row][data-name=accounts]');
    await expect
      .poll(() => accounts.getByTestId('subscriber-lag').innerText(), { timeout: 60_000 })
      .toBe('0');
    writeFileSync(join(dir, 'slow'), '');

    // When a rebuild is started and confirmed
    await accounts.getByTestId('subscriber-rebuild').click();
    expect(await page.getByTestId('confirm-question').innerText()).toMatch(
      /^Rebuild projector accounts: reset its read model and replay the whole event log \(\d+ events\) to it\?$/,
    );
    await page.getByTestId('confirm-ok').click();

    // Then its bar moves, and it ends done
    const replay = page.getByTestId('replay').first();
    await replay.waitFor();
    const seen = new Set<string>();
    let total = 0;
    await eventually(
      async () => {
        const bar = replay.getByTestId('replay-bar');
        seen.add((await bar.getAttribute('data-events'))!);
        total = Number(await bar.getAttribute('data-total'));
        expect(await replay.getAttribute('data-state')).toBe('done');
      },
      60_000,
      100,
    );
    const between = [...seen].map(Number).filter((n) => n > 0 && n < total);
    expect(between.length, `progress seen: ${[...seen].join(', ')} of ${total}`).toBeGreaterThanOrEqual(2);
    expect(await replay.getByTestId('replay-numbers').innerText()).toContain(
      `${total} / ${total} events (100 %)`,
    );

    // A second rebuild, its projector stopped mid-way: the rebuild stops, and says why; it goes on, to done, once
    // the projector is back
    await accounts.getByTestId('subscriber-rebuild').click();
    await page.getByTestId('confirm-ok').click();
    const running = page.locator('[data-testid=replay][data-state=running]');
    await running.waitFor();
    const second = page.locator(`[data-testid=replay][data-id="${await running.getAttribute('data-id')}"]`);
    await expect
      .poll(() => second.getByTestId('replay-bar').getAttribute('data-events'), { timeout: 30_000 })
      .not.toBe('0');
    await screenshotBothThemes(page, 'subscribers-rebuild');
    writeFileSync(join(dir, 'down'), '');
    const error = second.getByTestId('replay-error');
    await eventually(async () => {
      // (what the API says, should the page not show it)
      const status = (await (await fetch(`${consoleUrl}/api/status`)).json()) as StatusView;
      const replays = (await (await fetch(`${consoleUrl}/api/replays`)).json()) as { replays: ReplayView[] };
      const seen = {
        subscriber: status.subscribers.find((s) => s.name === 'accounts'),
        replay: replays.replays[0],
      };
      expect(await error.count(), JSON.stringify(seen)).toBe(1);
    }, 30_000);
    expect(await error.innerText()).toMatch(/^stopped: .*the accounts projector is stopped/);
    expect(await second.getAttribute('data-state')).toBe('running');
    await screenshotBothThemes(page, 'subscribers-rebuild-stopped');
    rmSync(join(dir, 'down'));
    await expect.poll(() => second.getAttribute('data-state'), { timeout: 60_000 }).toBe('done');
    expect(await error.count()).toBe(0);
    rmSync(join(dir, 'slow'));
    expectNoPageErrors();
  }, 120_000);

  it('lists every component with its state, address and roles, in the system theme until the toggle chooses', async () => {
    const page = await show('#/components', 'dark');
    const rows = page.getByTestId('component-row');
    await expect.poll(() => rows.count(), POLL).toBeGreaterThan(3);
    expect(
      await page.locator('[data-testid=component-row][data-name="command handler"]').innerText(),
    ).toContain(commands);
    const background = () => page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(await background()).toBe('rgb(13, 17, 23)');
    await screenshotBothThemes(page, 'components');
    await chooseTheme(page, 'light');
    await page.reload();
    await page.getByTestId('component-row').first().waitFor();
    expect(await background()).toBe('rgb(247, 247, 248)');
    expectNoPageErrors();
  });

  it("shows the API's error as it said it, with its hint, when a read is refused", async () => {
    const page = await show('#/aggregates/account/not-a-uuid');
    const error = page.getByTestId('api-error');
    await error.waitFor();
    expect(await error.innerText()).toMatch(/not-a-uuid/);
    // The refused read is the only thing the browser complains of
    expect(opened.splice(0).flatMap(({ problems }) => problems)).toEqual([
      expect.stringMatching(/Failed to load resource: the server responded with a status of 4\d\d/),
    ]);
  });

  it('cannot be driven by a page on another origin', async () => {
    // A page served from elsewhere tries to start a rebuild, both ways a browser lets it post
    const port = await freePort();
    const elsewhere: Server = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html');
      response.end('<!doctype html><title>elsewhere</title>');
    });
    await new Promise<void>((resolve) => elsewhere.listen(port, '127.0.0.1', resolve));
    try {
      const page = await show('#/subscribers');
      const before = (await (await fetch(`${consoleUrl}/api/replays`)).json()) as { replays: ReplayView[] };
      await page.goto(`http://localhost:${port}/`);
      const tried = await page.evaluate(async (url: string) => {
        const body = JSON.stringify({ subscriber: 'accounts', kind: 'projector', rebuild: true });
        const outcomes: string[] = [];
        // JSON: the preflight is not answered, so the browser sends nothing
        await fetch(`${url}/api/replays`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        })
          .then((r) => outcomes.push(`json: ${r.status}`))
          .catch(() => outcomes.push('json: refused'));
        // A "simple" request goes without a preflight: the server must refuse it by its Origin
        await fetch(`${url}/api/replays`, { method: 'POST', mode: 'no-cors', body })
          .then((r) => outcomes.push(`simple: ${r.type}`))
          .catch(() => outcomes.push('simple: refused'));
        // And the session (with its token) cannot be read from here
        await fetch(`${url}/api/session`)
          .then((r) => outcomes.push(`session: ${r.status}`))
          .catch(() => outcomes.push('session: unreadable'));
        return outcomes;
      }, consoleUrl);
      expect(tried).toEqual([
        'json: refused',
        expect.stringMatching(/^simple: (opaque|refused)$/),
        'session: unreadable',
      ]);
      const after = (await (await fetch(`${consoleUrl}/api/replays`)).json()) as { replays: ReplayView[] };
      expect(after.replays.length).toBe(before.replays.length);
      // What the browser said: blocked by CORS, and the simple request refused by the server (403)
      const problems = opened.splice(0).flatMap((opening) => opening.problems);
      expect(problems).toContainEqual(expect.stringMatching(/has been blocked by CORS policy/));
      expect(problems).toContainEqual(expect.stringMatching(/status of 403 \(Forbidden\)/));
    } finally {
      elsewhere.close();
    }
  });
});
