/**
 * The one clock every process of a latency measurement reads: the machine's real-time clock, Date.now(), which is
 * also what the store stamps a committed event with. Not performance.timeOrigin + performance.now(): that is a
 * monotonic clock anchored once at process start, and on these virtual machines it drifts from the real-time clock
 * by about 1.5 ms per second (seen: +1.5 ms at once, +4.5 ms two seconds later), so processes started at different
 * times disagree by more than the latencies measured (runs showed negative commit → projector times).
 */
export const wallClockMs = (): number => Date.now();
