import { createInterface, type Interface } from 'node:readline/promises';
import type { Writable } from 'node:stream';
import { InterruptedError } from '../errors.js';

/**
 * Questions on a terminal: each shows its default (Enter takes it) and is asked again, with the rule, until
 * the answer is valid. Ctrl-C, Ctrl-D or the command's abort signal end it with an InterruptedError. The
 * terminal is only taken on the first question.
 */
export interface Prompter {
  ask(question: string, fallback: string, problem: (answer: string) => string | undefined): Promise<string>;
  close(): void;
}

export const createPrompter = (
  input: NodeJS.ReadableStream,
  output: Writable,
  signal: AbortSignal,
): Prompter => {
  const cancel = new AbortController();
  const aborted = AbortSignal.any([signal, cancel.signal]);
  let rl: Interface | undefined;
  const open = (): Interface => {
    if (rl) return rl;
    rl = createInterface({ input, output, terminal: true });
    rl.on('SIGINT', () => cancel.abort());
    rl.on('close', () => cancel.abort());
    return rl;
  };
  return {
    async ask(question, fallback, problem) {
      for (;;) {
        let answer: string;
        try {
          answer =
            (await open().question(`${question} (${fallback}): `, { signal: aborted })).trim() || fallback;
        } catch (err) {
          if (aborted.aborted) throw new InterruptedError();
          throw err;
        }
        const issue = problem(answer);
        if (issue === undefined) return answer;
        output.write(`  ${issue}\n`);
      }
    },
    close: () => rl?.close(),
  };
};
