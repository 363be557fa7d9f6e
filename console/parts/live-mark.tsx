import type { StreamState } from '../hooks.js';

/** Whether the page is following the server live. */
export const LiveMark = ({ state }: { state: StreamState }) => (
  <span class={`live ${state}`} data-testid="live-mark" data-state={state}>
    {state === 'live' ? '● live' : state === 'connecting' ? '○ connecting' : '○ reconnecting…'}
  </span>
);
