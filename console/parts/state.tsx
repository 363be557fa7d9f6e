/** A state as a coloured badge: green when well, amber while it waits or works, red when it fails. */
const TONES: Record<string, string> = {
  ok: 'good',
  live: 'good',
  applied: 'good',
  handled: 'good',
  done: 'good',
  retried: 'good',
  serving: 'good',
  'catching-up': 'busy',
  replaying: 'busy',
  running: 'busy',
  pending: 'busy',
  waiting: 'busy',
  retrying: 'busy',
  starting: 'busy',
  paused: 'quiet',
  skipped: 'quiet',
  stopped: 'bad',
  open: 'bad',
  failed: 'bad',
  unavailable: 'bad',
  'dead-lettered': 'bad',
};

export const State = ({ state, testid }: { state: string; testid?: string }) => (
  <span class={`badge ${TONES[state] ?? 'quiet'}`} data-testid={testid} data-state={state}>
    {state}
  </span>
);
