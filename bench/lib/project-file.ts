import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A benchmark's runtime project: `dir/evented.yaml` named `bench`, every server of the runtime on a free port (so
 * that a benchmark never meets a running `evented up` on the default ports), then `lines` (store, bus, domains,
 * projectors, …), one YAML line each.
 */
export const writeBenchProject = (dir: string, lines: readonly string[]): void => {
  writeFileSync(
    join(dir, 'evented.yaml'),
    [
      'name: bench',
      'commandHandler: { port: 0 }',
      'queryHandler: { port: 0 }',
      'projectorCoordinator: { port: 0 }',
      'sagaCoordinator: { port: 0 }',
      'admin: { port: 0 }',
      'console: { port: 0 }',
      ...lines,
      '',
    ].join('\n'),
  );
};
