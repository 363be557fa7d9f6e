/**
 * A rate from two readings of a counter that only grows (commands handled, events delivered): the difference over
 * the time between them, per second. A counter that went back was restarted (its process started again from 0):
 * what it counts now is what happened since. Used by the live view of `evented up` and by the web console.
 */
export const ratePerSecond = (before: number, after: number, ms: number): number =>
  ms <= 0 ? 0 : ((after >= before ? after - before : after) * 1000) / ms;
