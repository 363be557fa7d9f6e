import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { UpView, type UpViewComponent, type UpViewProps } from '../../cli/ui/UpView.js';

/** The live view of `evented up`, rendered as a terminal would show it, in its main states. */

const choices: UpViewProps['choices'] = [
  {
    concern: 'store',
    chosen: 'SQLite at .evented/events.db',
    why: 'the embedded default',
    instead: '--store postgres://…',
  },
  { concern: 'bus', chosen: 'in-process memory bus', why: 'the embedded default', instead: '--bus rabbitmq' },
];

const logic = (change: Partial<UpViewComponent> = {}): UpViewComponent => ({
  name: 'business-logic',
  kind: 'process',
  state: 'ready',
  address: '127.0.0.1:1737',
  pid: 4242,
  lines: ['account business logic listening on 127.0.0.1:1737'],
  ...change,
});
const handler = (state: UpViewComponent['state'], address?: string): UpViewComponent => ({
  name: 'command handler',
  kind: 'grpc',
  state,
  address,
});

const frame = (props: UpViewProps): string => {
  const view = render(createElement(UpView, props));
  const text = view.lastFrame() ?? '';
  view.unmount();
  return text;
};

describe('the evented up view', () => {
  it('while starting: the choices, each component with its state, and what is happening', () => {
    const text = frame({
      project: '/work/bank',
      choices,
      components: [logic({ state: 'starting', lines: [] }), handler('starting')],
      status: 'starting…',
    });

    expect(text).toContain('evented up /work/bank');
    expect(text).toMatch(
      /store\s+SQLite at \.evented\/events\.db \(the embedded default; or --store postgres:\/\/…\)/,
    );
    expect(text).toMatch(/bus\s+in-process memory bus/);
    expect(text).toMatch(/◌ starting\s+business-logic\s+127\.0\.0\.1:1737\s+pid 4242/);
    expect(text).toMatch(/◌ starting\s+command handler/);
    expect(text).toContain('starting…');
    expect(text).not.toContain('is ready');
  });

  it('all ready: addresses, the last lines of each process log, and the summary', () => {
    const text = frame({
      project: '/work/bank',
      choices,
      components: [logic(), handler('ready', '127.0.0.1:1313')],
      ready: 'bank is ready: commands on 127.0.0.1:1313, queries on 127.0.0.1:1314, admin on 127.0.0.1:1316.',
    });

    expect(text).toMatch(/● ready\s+business-logic\s+127\.0\.0\.1:1737/);
    expect(text).toContain('│ account business logic listening on 127.0.0.1:1737');
    expect(text).toMatch(/● ready\s+command handler\s+127\.0\.0\.1:1313/);
    expect(text).toContain('bank is ready: commands on 127.0.0.1:1313');
    expect(text).not.toContain('starting');
  });

  it('one failed: what failed, and the last lines of its log (up to ten)', () => {
    const lines = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
    const text = frame({
      project: '/work/bank',
      choices,
      components: [
        logic({
          state: 'failed',
          detail: 'process "business-logic" exited with code 1; its log: .evented/logs/business-logic.log',
          lines,
        }),
        handler('stopped'),
      ],
    });

    expect(text).toMatch(/✗ failed\s+business-logic/);
    expect(text).toContain(
      'process "business-logic" exited with code 1; its log: .evented/logs/business-logic.log',
    );
    expect(text.split('\n').map((l) => l.trim())).not.toContain('│ line 2');
    expect(text).toContain('│ line 3');
    expect(text).toContain('│ line 12');
    expect(text).toMatch(/○ stopped\s+command handler/);
  });
});
