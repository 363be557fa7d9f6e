import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import type {
  AggregateView,
  DeadLetterDetailView,
  DeadLetterView,
  EventList,
  EventView,
  ReplayView,
  Session,
  StatusView,
  TraceView,
} from '../../runtime/console/api.js';
import { startConsoleServer } from '../../runtime/console/server.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { command, deposit, newRoot, open } from '../helpers/account.js';
import { startSampleBusinessLogic } from '../helpers/business-logic.js';
import { adminCalls } from '../helpers/clients.js';
import { actionHeaders, consoleRequest, readEventStream } from '../helpers/console.js';
import { startRecordingProjector, type RecordingProjector } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { typescriptTemplate } from '../helpers/paths.js';
import { occupiedPort } from '../helpers/ports.js';
import { startTestRuntime, type TestRuntime } from '../helpers/runtime.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * The web console's server (runtime/console/) in a real runtime: the sample business logic as its own process, a
 * recording projector that can be made to fail, the console's HTTP API over real HTTP. Every answer comes from
 * the Admin and Query APIs; the actions are refused to a page elsewhere.
 */

let test: TestRuntime;
let projector: RecordingProjector;
let url: string;
let session: Session;
/** While true, the projector refuses deposits of 13. */
let failing = true;
const [ada, bob] = [newRoot(), newRoot()];

const api = async <T>(path: string): Promise<T> => {
  const answer = await consoleRequest<T>(`${url}${path.replace(/^\//, '')}`);
  expect(answer.status, answer.text).toBe(200);
  return answer.body;
};
const act = <T>(path: string, body: unknown, headers = actionHeaders(url, session.token)) =>
  consoleRequest<T>(`${url}${path.replace(/^\//, '')}`, { body, headers });

beforeAll(async () => {
  projector = await startRecordingProjector({
    refuse: (_account, _page, event) =>
      failing && event?.type === 'MoneyDeposited' && event.amount === 13
        ? 'the read model is full'
        : undefined,
  });
  // A snapshot every 2 events: an aggregate's page marks it.
  const logic = await startSampleBusinessLogic({ snapshotEvery: 2 });
  // A project folder with the sample's .proto files: payloads are shown as JSON.
  const projectDir = tempDir();
  cpSync(join(typescriptTemplate, 'proto'), join(projectDir, 'proto'), { recursive: true });
  test = await startTestRuntime(
    {
      name: 'bank',
      domains: { account: { businessLogic: logic.address } },
      projectors: { recording: { address: projector.address, domains: ['account'] } },
      delivery: { maxAttempts: 2, retryDelayMs: 10 },
    },
    { projectDir },
  );
  url = test.runtime.console!.url;
  session = await api<Session>('/api/session');
  await test.commands.handle(command(ada, open('ada'), deposit(5)), undefined, undefined, {
    'evented-correlation-id': 'ada-opens',
  });
  await test.commands.handle(command(bob, open('bob')), undefined, undefined, {
    'evented-correlation-id': 'bob-opens',
  });
});

describe('the console server', () => {
  it('listens where the runtime says, and says who it is', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(session).toMatchObject({ project: 'bank', url });
    expect(session.token).toMatch(/^[0-9a-f]{48}$/);
    const status = await api<StatusView>('/api/status');
    expect(status.components).toContainEqual(
      expect.objectContaining({ name: 'console', kind: 'http', address: url, state: 'ok' }),
    );
  });

  it('lists events newest first, payloads as JSON, filtered by domain, root, type and correlation, and pages back', async () => {
    const all = await api<EventList>('/api/events');
    expect(all.head).toBe(3);
    expect(all.more).toBe(false);
    expect(all.events.map((event) => event.position)).toEqual([3, 2, 1]);
    const deposited = all.events.find((event) => event.type === 'account.v1.MoneyDeposited')!;
    expect(deposited).toMatchObject({
      domain: 'account',
      root: uuidFromBytes(ada),
      sequence: 1,
      payload: { amount: '5', balance: '5' },
      origin: { correlationId: 'ada-opens', commandType: 'account.v1.OpenAccount' },
    });
    expect(deposited.size).toBeGreaterThan(0);
    expect(new Date(deposited.committedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);

    const ofBob = await api<EventList>(`/api/events?domain=account&root=${uuidFromBytes(bob)}`);
    expect(ofBob.events.map((event) => event.position)).toEqual([3]);
    const opened = await api<EventList>('/api/events?type=AccountOpened');
    expect(opened.events.map((event) => event.position)).toEqual([3, 1]);
    const byCorrelation = await api<EventList>('/api/events?correlation=ada-opens');
    expect(byCorrelation.events.map((event) => event.position)).toEqual([2, 1]);

    const page = await api<EventList>('/api/events?limit=2');
    expect([page.events.map((event) => event.position), page.more]).toEqual([[3, 2], true]);
    const older = await api<EventList>('/api/events?limit=2&before=2');
    expect([older.events.map((event) => event.position), older.more]).toEqual([[1], false]);
    expect((await api<EventList>('/api/events?until=2000-01-01T00:00:00Z')).events).toEqual([]);
  });

  it('refuses a bad filter with one line saying what is wrong', async () => {
    const notUuid = await consoleRequest<{ error: string }>(`${url}api/events?domain=account&root=nope`);
    expect([notUuid.status, notUuid.body.error]).toEqual([400, 'root "nope" is not a UUID']);
    const noDomain = await consoleRequest<{ error: string }>(`${url}api/events?root=${uuidFromBytes(ada)}`);
    expect([noDomain.status, noDomain.body.error]).toEqual([
      400,
      'root names an aggregate only together with its domain',
    ]);
    const unknown = await consoleRequest<{ error: string }>(`${url}api/nothing`);
    expect([unknown.status, unknown.body.error]).toEqual([404, 'no such API: GET /api/nothing']);
  });

  it('streams each new event as it is committed', async () => {
    const { events, comments, headers } = await readEventStream(
      `${url}api/events/stream?domain=account`,
      (received) => received.length >= 1,
      {
        onOpen: async () => {
          await test.commands.handle(command(bob, deposit(7)));
        },
      },
    );
    expect(headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(comments.length).toBeGreaterThan(0);
    expect(events[0]!.event).toBe('event');
    expect(events[0]!.data).toMatchObject({
      position: 4,
      root: uuidFromBytes(bob),
      type: 'account.v1.MoneyDeposited',
      payload: { amount: '7', balance: '7' },
    } satisfies Partial<EventView>);
  });

  it('shows an aggregate: its events in order, with their positions, its snapshot and the commands that made them', async () => {
    const view = await api<AggregateView>(`/api/aggregates/account/${uuidFromBytes(ada)}`);
    expect(view.events.map((event) => [event.sequence, event.position, event.type])).toEqual([
      [0, 1, 'account.v1.AccountOpened'],
      [1, 2, 'account.v1.MoneyDeposited'],
    ]);
    expect(view.commands).toEqual([
      expect.objectContaining({ correlationId: 'ada-opens', sequences: [0, 1] }),
    ]);
    expect(view.snapshot).toMatchObject({ sequence: 2, payload: expect.objectContaining({ owner: 'ada' }) });
    const carl = newRoot();
    await test.commands.handle(command(carl, open('carl')));
    const withoutSnapshot = await api<AggregateView>(`/api/aggregates/account/${uuidFromBytes(carl)}`);
    expect(withoutSnapshot.events).toHaveLength(1);
    expect(withoutSnapshot.snapshot).toBeUndefined();
    const missing = await consoleRequest(`${url}api/aggregates/account/${uuidFromBytes(newRoot())}`);
    expect(missing.status).toBe(404);
  });

  it('traces a correlation, by its id or by one of its events', async () => {
    const trace = await api<TraceView>('/api/trace/ada-opens');
    expect(trace).toMatchObject({ correlationId: 'ada-opens', truncated: false, events: 2 });
    expect(trace.commands[0]).toMatchObject({ commandType: 'account.v1.OpenAccount', domain: 'account' });
    expect(trace.commands[0]!.events.map((event) => event.type)).toEqual([
      'account.v1.AccountOpened',
      'account.v1.MoneyDeposited',
    ]);
    await eventually(async () => {
      const again = await api<TraceView>('/api/trace/ada-opens');
      expect(again.commands[0]!.events[0]!.deliveries).toEqual([
        expect.objectContaining({ subscriber: 'recording', kind: 'projector', state: 'applied' }),
      ]);
    });
    const byEvent = await api<TraceView>(
      `/api/trace/${encodeURIComponent(`account/${uuidFromBytes(ada)}/1`)}`,
    );
    expect(byEvent.correlationId).toBe('ada-opens');
  });

  it('streams the status every second, with rates from two readings', async () => {
    const { events } = await readEventStream(`${url}api/status/stream`, (received) => received.length >= 2);
    const [first, second] = events.map((event) => event.data as StatusView);
    expect(first!.project).toBe('bank');
    expect(Date.parse(second!.at) - Date.parse(first!.at)).toBeGreaterThanOrEqual(900);
    expect(second!.subscribers).toEqual([
      expect.objectContaining({
        name: 'recording',
        kind: 'projector',
        state: 'live',
        delivered: second!.head,
      }),
    ]);
    expect(second!.commandsPerSecond).toBeGreaterThanOrEqual(0);
    expect(second!.components.map((component) => component.name)).toContain('store');
  });
});

describe('dead letters and replays from the console', () => {
  let adaLetter: DeadLetterView;
  let bobLetter: DeadLetterView;

  it('lists the letters of a failing projector, and shows one with its event', async () => {
    await test.commands.handle(command(ada, deposit(13)));
    await test.commands.handle(command(bob, deposit(13)));
    const letters = await eventually(async () => {
      const { letters } = await api<{ letters: DeadLetterView[] }>('/api/dead-letters?state=open');
      expect(letters).toHaveLength(2);
      return letters;
    }, 30_000);
    [adaLetter, bobLetter] = [
      letters.find((letter) => letter.root === uuidFromBytes(ada))!,
      letters.find((letter) => letter.root === uuidFromBytes(bob))!,
    ];
    expect(adaLetter).toMatchObject({
      subscriber: 'recording',
      kind: 'projector',
      domain: 'account',
      sequence: 2,
      attempts: 2,
      state: 'open',
    });
    expect(adaLetter.lastError).toContain('the read model is full');
    const detail = await api<DeadLetterDetailView>(`/api/dead-letters/${adaLetter.id}`);
    expect(detail.event).toMatchObject({ sequence: 2, payload: { amount: '13', balance: '18' } });
    const status = await api<StatusView>('/api/status');
    expect(status.subscribers[0]).toMatchObject({
      deadLettered: 2,
      lastError: expect.stringContaining('the read model is full'),
    });
  });

  it('refuses an action from a page elsewhere, or without the run token, and changes nothing', async () => {
    const foreign = await act<{ error: string }>(
      '/api/dead-letters/retry',
      { ids: [adaLetter.id] },
      { origin: 'http://evil.example', 'x-evented-token': session.token },
    );
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toMatch(/^refused: an action must come from the console's own page/);
    const noOrigin = await act(
      '/api/dead-letters/retry',
      { ids: [adaLetter.id] },
      {
        'x-evented-token': session.token,
      },
    );
    expect(noOrigin.status).toBe(403);
    const noToken = await act<{ error: string }>(
      '/api/dead-letters/skip',
      { ids: [adaLetter.id] },
      { origin: new URL(url).origin },
    );
    expect(noToken.status).toBe(403);
    expect(noToken.body.error).toBe(
      "refused: an action needs the header x-evented-token with this run's token",
    );
    const wrongToken = await act(
      '/api/replays',
      { subscriber: 'recording', kind: 'projector' },
      {
        ...actionHeaders(url, session.token),
        'x-evented-token': 'f'.repeat(48),
      },
    );
    expect(wrongToken.status).toBe(403);
    const { letters } = await api<{ letters: DeadLetterView[] }>('/api/dead-letters?state=open');
    expect(letters.map((letter) => letter.id).sort()).toEqual([adaLetter.id, bobLetter.id].sort());
    expect((await api<{ replays: ReplayView[] }>('/api/replays')).replays).toEqual([]);
  });

  it('refuses a request whose Host names another server (DNS rebinding), even a read', async () => {
    const port = new URL(url).port;
    for (const path of ['api/session', 'api/dead-letters', '']) {
      const answer = await consoleRequest<{ error: string }>(`${url}${path}`, {
        headers: { host: `evil.example:${port}` },
      });
      expect(answer.status, path).toBe(421);
      expect(answer.body.error).toBe(`this is the evented console at port ${port}, not evil.example:${port}`);
    }
    const posted = await act(
      '/api/dead-letters/retry',
      { ids: [adaLetter.id] },
      {
        ...actionHeaders(url, session.token),
        host: `evil.example:${port}`,
        origin: `http://evil.example:${port}`,
      },
    );
    expect(posted.status).toBe(421);
    const localhost = await consoleRequest(`${url}api/session`, { headers: { host: `localhost:${port}` } });
    expect(localhost.status).toBe(200);
  });

  it('retries a letter once the projector is fixed, and skips another, naming the console as who decided', async () => {
    failing = false;
    const retried = await act<{ letters: DeadLetterView[] }>('/api/dead-letters/retry', {
      ids: [adaLetter.id],
    });
    expect(retried.status, retried.text).toBe(200);
    expect(retried.body.letters).toEqual([
      expect.objectContaining({
        id: adaLetter.id,
        state: 'retried',
        decidedBy: expect.stringMatching(/^console 127\.0\.0\.1:\d+ \(/),
      }),
    ]);
    expect(projector.accounts()[uuidFromBytes(ada)]).toMatchObject({ balance: 18 });

    const skipped = await act<{ letters: DeadLetterView[] }>('/api/dead-letters/skip', {
      ids: [bobLetter.id],
    });
    expect(skipped.body.letters).toEqual([expect.objectContaining({ id: bobLetter.id, state: 'skipped' })]);
    expect(skipped.body.letters[0]!.decidedBy).toMatch(/^console 127\.0\.0\.1:\d+/);
    const { letters } = await api<{ letters: DeadLetterView[] }>('/api/dead-letters?state=open');
    expect(letters).toEqual([]);
    // With no letter open, the error that set them aside is history: status no longer shows it.
    const status = await api<StatusView>('/api/status');
    expect(status.subscribers[0]).toMatchObject({ deadLettered: 0, lastError: '' });
    const bad = await act<{ error: string }>('/api/dead-letters/retry', {});
    expect([bad.status, bad.body.error]).toEqual([
      400,
      'say which letters: ids, or a subscriber (and an aggregate)',
    ]);
  });

  it('rebuilds a projector to done, followed on the replay stream; a failing one is shown failed, with its error', async () => {
    const { head } = await api<EventList>('/api/events?limit=1');
    const { events } = await readEventStream(
      `${url}api/replays/stream`,
      (received) => received.some((event) => (event.data as ReplayView).state === 'done'),
      {
        timeoutMs: 30_000,
        onOpen: async () => {
          const started = await act<ReplayView>('/api/replays', {
            subscriber: 'recording',
            kind: 'projector',
            rebuild: true,
          });
          expect(started.status, started.text).toBe(202);
          expect(started.body).toMatchObject({ subscriber: 'recording', rebuild: true, state: 'running' });
        },
      },
    );
    const done = events.map((event) => event.data as ReplayView).find((view) => view.state === 'done')!;
    expect(done).toMatchObject({ subscriber: 'recording', kind: 'projector', events: head, total: head });
    expect(done.endedAt).toBeDefined();
    expect(projector.resets).toBe(1);

    projector.failReset = 'the read model is locked by a backup';
    const failed = await act<ReplayView>('/api/replays', {
      subscriber: 'recording',
      kind: 'projector',
      rebuild: true,
    });
    const view = await eventually(async () => {
      const { replays } = await api<{ replays: ReplayView[] }>('/api/replays');
      const found = replays.find((replay) => replay.id === failed.body.id)!;
      expect(found.state).toBe('failed');
      return found;
    });
    expect(view.error).toContain('the read model is locked by a backup');
    const { replays } = await api<{ replays: ReplayView[] }>('/api/replays');
    expect(replays.map((replay) => replay.state)).toEqual(['failed', 'done']);
    projector.failReset = undefined;

    const unknown = await act<ReplayView>('/api/replays', { subscriber: 'nobody', kind: 'projector' });
    const refused = await eventually(async () => {
      const found = (await api<{ replays: ReplayView[] }>('/api/replays')).replays[0]!;
      expect([found.id, found.state]).toEqual([unknown.body.id, 'failed']);
      return found;
    });
    expect(refused.error).toMatch(/nobody/);
  });
});

/** A console server of its own, on the test runtime's admin service and query handler. */
const consoleOptions = () => ({
  host: '127.0.0.1',
  port: 0,
  admin: test.runtime.admin.address,
  query: test.runtime.queryHandler.address,
  tls: undefined,
  token: undefined,
  bearer: undefined,
  projectDir: test.projectDir,
  project: 'bank',
  version: '',
  logger: pino({ level: 'silent' }),
});

describe('the console off loopback, and its pages', () => {
  it('wants the configured token on /api (header or cookie); the pages need none', async () => {
    const projectDir = tempDir();
    const remote = await startTestRuntime(
      { console: { host: '0.0.0.0', port: 0, token: { env: 'CONSOLE_TOKEN' } } },
      { projectDir, env: { CONSOLE_TOKEN: 'a-console-token-long-enough' } },
    );
    const port = new URL(remote.runtime.console!.url).port;
    const at = `http://127.0.0.1:${port}/`;
    const without = await consoleRequest<{ error: string }>(`${at}api/session`);
    expect([without.status, without.body.error]).toEqual([401, 'this console needs its token']);
    const wrong = await consoleRequest(`${at}api/session`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const bearer = await consoleRequest(`${at}api/session`, {
      headers: { authorization: 'Bearer a-console-token-long-enough' },
    });
    expect(bearer.status).toBe(200);
    const cookie = await consoleRequest(`${at}api/status`, {
      headers: { cookie: 'theme=dark; evented-console-token=a-console-token-long-enough' },
    });
    expect(cookie.status).toBe(200);
    expect((await consoleRequest(at)).status).not.toBe(401);
    await remote.runtime.close(100);
  });

  it('keeps a quiet stream alive with heartbeats, and ends it when the console stops', async () => {
    const started = await startConsoleServer({
      ...consoleOptions(),
      bundleDir: join(tempDir(), 'nothing-here'),
      heartbeatMs: 100,
    });
    const response = await fetch(`${started.url}api/replays/stream`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while ((text.match(/: heartbeat\n\n/g) ?? []).length < 3) text += (await reader.read()).value ?? '';
    const closing = started.close();
    const ended = await Promise.race([
      (async () => {
        while (!(await reader.read()).done);
        return 'ended';
      })(),
      new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000)),
    ]);
    expect(ended).toBe('ended');
    await closing;
  });

  it('is not served with console.enabled: false, and status then names none', async () => {
    const off = await startTestRuntime({ console: { enabled: false } });
    expect(off.runtime.console).toBeUndefined();
    const status = await adminCalls(off.runtime.admin.address).status();
    expect(status.consoleUrl).toBe('');
    expect(status.components.map((component) => component.name)).not.toContain('console');
    await off.runtime.close(100);
  });

  it('a busy port is one line naming the address and the key to change', async () => {
    const busy = await occupiedPort();
    const started = startConsoleServer({ ...consoleOptions(), port: busy });
    await expect(started).rejects.toThrow(
      `the console cannot listen on 127.0.0.1:${busy}: the port is already in use`,
    );
    await expect(started).rejects.toMatchObject({
      hint: 'stop the other process, or set console.port to another port in evented.yaml (console.enabled: false turns it off)',
    });
  });

  it('refuses to start off loopback when console.token cannot be read', async () => {
    await expect(
      startTestRuntime(
        { console: { host: '0.0.0.0', port: 0, token: { env: 'NO_CONSOLE_TOKEN' } } },
        { env: {} },
      ),
    ).rejects.toThrow('console.token.env: the environment variable NO_CONSOLE_TOKEN is not set');
  });

  it('serves the built pages: index.html for / and for page routes, uncached; assets with their type', async () => {
    const bundleDir = tempDir();
    mkdirSync(join(bundleDir, 'assets'));
    writeFileSync(join(bundleDir, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(join(bundleDir, 'assets', 'app-1a2b.js'), 'console.log(1)');
    writeFileSync(join(bundleDir, 'assets', 'app-1a2b.css'), 'body{}');
    const started = await startConsoleServer({ ...consoleOptions(), bundleDir });
    try {
      for (const path of ['', 'events', 'aggregates/account/x']) {
        const page = await consoleRequest(`${started.url}${path}`);
        expect([page.status, page.text, page.headers['content-type']], path).toEqual([
          200,
          '<!doctype html><title>console</title>',
          'text/html; charset=utf-8',
        ]);
        expect(page.headers['cache-control']).toBe('no-cache');
        expect(page.headers['x-frame-options']).toBe('DENY');
      }
      const script = await consoleRequest(`${started.url}assets/app-1a2b.js`);
      expect([script.headers['content-type'], script.text]).toEqual([
        'text/javascript; charset=utf-8',
        'console.log(1)',
      ]);
      expect(script.headers['cache-control']).toMatch(/immutable/);
      const css = await consoleRequest(`${started.url}assets/app-1a2b.css`);
      expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
      // An asset that is not there (an earlier build's) is a 404, not the page in its place.
      const gone = await consoleRequest(`${started.url}assets/app-0f0f.js`);
      expect([gone.status, gone.headers['cache-control'], gone.text]).toEqual([
        404,
        'no-cache',
        'not found: /assets/app-0f0f.js (the console was built again since: reload the page)\n',
      ]);
      const outside = await consoleRequest(`${started.url}..%2F..%2F..%2Fetc%2Fpasswd`);
      expect(outside.text).toBe('<!doctype html><title>console</title>');
      const put = await consoleRequest(`${started.url}events`, { method: 'PUT' });
      expect(put.status).toBe(405);
    } finally {
      await started.close();
    }

    const unbuilt = await startConsoleServer({
      ...consoleOptions(),
      bundleDir: join(tempDir(), 'nothing-here'),
    });
    try {
      const page = await consoleRequest(unbuilt.url);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.text).toContain('The console was not built');
      expect(page.text).toContain('npm run build');
      expect((await consoleRequest(`${unbuilt.url}api/session`)).status).toBe(200);
    } finally {
      await unbuilt.close();
    }
  });
});
