/** Components: every process and piece of infrastructure the runtime reports, with its state, address and roles. */
import { useState } from 'preact/hooks';
import type { StatusView } from '../../runtime/console/api.js';
import { rate } from '../format.js';
import { useRead, useStream } from '../hooks.js';
import { ErrorBox } from '../parts/error-box.js';
import { LiveMark } from '../parts/live-mark.js';
import { State } from '../parts/state.js';

export const ComponentsPage = () => {
  const first = useRead<StatusView>('/api/status');
  const [latest, setLatest] = useState<StatusView>();
  const stream = useStream<StatusView>('/api/status/stream', 'status', setLatest);
  const status = latest ?? first.data;
  return (
    <section data-testid="components-page">
      <div class="heading">
        <h1>Components</h1>
        <LiveMark state={stream.state} />
        {status && (
          <span class="muted">
            {status.project} {status.version} · head #{status.head}
            {status.commandsPerSecond !== undefined && ` · commands ${rate(status.commandsPerSecond)}`}
            {status.eventsPerSecond !== undefined && ` · events ${rate(status.eventsPerSecond)}`}
          </span>
        )}
      </div>
      <ErrorBox error={stream.error} />
      <ErrorBox error={first.error} />
      <table class="grid" data-testid="components-table">
        <thead>
          <tr>
            <th>component</th>
            <th>kind</th>
            <th>state</th>
            <th>address</th>
            <th>process</th>
            <th>roles</th>
            <th>detail</th>
          </tr>
        </thead>
        <tbody>
          {status?.components.map((component) => (
            <tr
              key={`${component.process}/${component.name}`}
              data-testid="component-row"
              data-name={component.name}
              data-state={component.state}
            >
              <td>
                <strong>{component.name}</strong>
              </td>
              <td>{component.kind}</td>
              <td>
                <State state={component.state} testid="component-state" />
              </td>
              <td>
                <code>{component.address}</code>
              </td>
              <td class="small">{component.process}</td>
              <td class="small wrap">{component.roles.join(', ')}</td>
              <td class="small wrap">{component.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};
