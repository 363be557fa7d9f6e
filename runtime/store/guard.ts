/**
 * Every method of `methods` (a part of the store built in its own module, such as its dead letters) run through
 * `guard`: the adapter's check that it is open and its translation of driver errors into StoreErrors.
 */
export const guardEach = <T extends object>(
  methods: T,
  guard: <R>(call: () => Promise<R>) => Promise<R>,
): T =>
  Object.fromEntries(
    Object.entries(methods).map(([name, method]: [string, (...args: unknown[]) => Promise<unknown>]) => [
      name,
      (...args: unknown[]) => guard(() => method(...args)),
    ]),
  ) as T;
