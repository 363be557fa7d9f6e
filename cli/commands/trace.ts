import type { Command } from 'commander';
import type { TraceRequest } from '../../runtime/protocol/gen/evented/evented.js';
import { TRACE_TARGET_HINT, traceTargetOf } from '../../runtime/protocol/trace-target.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { formatTrace } from '../output/trace.js';
import { traceView } from '../../runtime/protocol/json-views.js';
import { withAdmin, withRemoteOptions, type RemoteOptions } from '../remote/options.js';

/**
 * `evented trace <correlation-id | DOMAIN/ROOT/SEQ>`: what one piece of work did, read from the store by the
 * runtime (Admin.Trace): each command, its events, each projector and saga that took them and when, and the
 * commands sagas issued in reaction, and so on; dead letters marked.
 */

interface TraceOptions extends RemoteOptions {
  json?: boolean;
}

/** A correlation id, or an event whose correlation is traced ("account/3f2b…/4"). */
export const parseTraceTarget = (text: string): TraceRequest => {
  const target = traceTargetOf(text);
  if ('problem' in target) throw new UsageError(target.problem, TRACE_TARGET_HINT);
  return target.request;
};

export const registerTrace = (program: Command, context: CliContext): void => {
  withRemoteOptions(
    program
      .command('trace')
      .argument(
        '<target>',
        'a correlation id, or an event as DOMAIN/ROOT/SEQUENCE (its correlation is traced)',
      )
      .description(
        'show what one command set off, from the store: its events, the projectors and sagas that took them and when, the commands sagas issued, and so on',
      ),
  )
    .option('--json', 'print the tree as one JSON document')
    .addHelpText(
      'after',
      '\nExit status: 0 when the correlation was found, 1 otherwise.\n\nExamples:\n  evented trace order-42\n  evented trace account/3f2b5c1e-8d4a-4f7e-9b1c-2a6d0e5f7c3b/4 --json\n',
    )
    .action(async (target: string, options: TraceOptions) => {
      const request = parseTraceTarget(target);
      const tree = await withAdmin(context, options, (admin) => admin.trace(request));
      context.stdout.write(
        options.json ? `${JSON.stringify(traceView(tree), null, 2)}\n` : formatTrace(tree),
      );
    });
};
