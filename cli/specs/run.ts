import { credentials, status, type Client } from '@grpc/grpc-js';
import { callUnary, isServiceError } from '../../runtime/grpc/unary.js';
import {
  BusinessLogicClient,
  ProjectorClient,
  SagaClient,
  type EventBook,
} from '../../runtime/protocol/gen/evented/evented.js';
import type { Any } from '../../runtime/protocol/gen/google/protobuf/any.js';
import { uuidFromBytes, uuidToBytes } from '../../runtime/protocol/uuid.js';
import type { PayloadTypes } from '../protos/payloads.js';
import {
  actualOf,
  compareError,
  compareList,
  comparePayload,
  expectedRefusal,
  type ActualPayload,
  type Difference,
} from './compare.js';
import { targetLabel } from './report.js';
import {
  shortName,
  type BusinessLogicCase,
  type ProjectorCase,
  type SagaCase,
  type SpecFile,
} from './spec.js';

/**
 * Runs a spec file's cases against its target, called directly over gRPC (no runtime, no store): the business
 * logic's Handle with the given events as the aggregate's history, a saga's HandleSync or a projector's
 * HandleSync with the given events as one book. Each case ends passed, or with its differences.
 */

export interface CaseResult {
  name: string;
  passed: boolean;
  differences: Difference[];
}

const CALL_TIMEOUT_MS = 10_000;
const CONNECT_TIMEOUT_MS = 5_000;

const book = (domain: string, root: string, given: readonly Any[], from: number): EventBook => ({
  cover: { domain, root: { value: uuidToBytes(root)! } },
  snapshot: undefined,
  pages: given.map((Event, index) => ({ num: from + index, Event, synchronous: false })),
});

/** What a call that failed says: a refusal to compare, or a transport failure for the whole case. */
const refusalOf = (err: unknown): { code: number; codeName: string; details: string } => {
  if (!isServiceError(err)) throw err;
  return { code: err.code, codeName: status[err.code] ?? String(err.code), details: err.details };
};

const describeAnswer = (payloads: readonly ActualPayload[]): string =>
  payloads.length === 0 ? 'no events' : payloads.map((p) => shortName(p.typeName)).join(', ');

const runBusinessLogic = async (
  client: InstanceType<typeof BusinessLogicClient>,
  spec: BusinessLogicCase,
  domain: string,
  types: PayloadTypes,
): Promise<Difference[]> => {
  const request = {
    events: book(domain, spec.root, spec.given, 0),
    command: {
      cover: { domain, root: { value: uuidToBytes(spec.root)! } },
      pages: [{ sequence: spec.given.length, synchronous: false, command: spec.when }],
    },
  };
  let answer: EventBook;
  try {
    answer = await callUnary(client.handle.bind(client), request, { timeoutMs: CALL_TIMEOUT_MS });
  } catch (err) {
    return compareError(spec.error, refusalOf(err));
  }
  const events = answer.pages.map((page) => actualOf(page.Event, types)!);
  if (spec.error) return expectedRefusal(spec.error, describeAnswer(events));
  const differences = compareList((i) => `event ${i}`, spec.events ?? [], events);
  if (spec.snapshot) {
    differences.push(...comparePayload('snapshot', spec.snapshot, actualOf(answer.snapshot?.state, types)));
  }
  return differences;
};

const runSaga = async (
  client: InstanceType<typeof SagaClient>,
  spec: SagaCase,
  types: PayloadTypes,
): Promise<Difference[]> => {
  let answer;
  try {
    answer = await callUnary(
      client.handleSync.bind(client),
      book(spec.domain, spec.root, spec.given, spec.givenFrom),
      {
        timeoutMs: CALL_TIMEOUT_MS,
      },
    );
  } catch (err) {
    return compareError(spec.error, refusalOf(err));
  }
  const commands = answer.commands.flatMap((b) =>
    b.pages.map((page) => ({
      domain: b.cover?.domain ?? '',
      root: uuidFromBytes(b.cover?.root?.value ?? new Uint8Array(16)),
      ...actualOf(page.command, types)!,
    })),
  );
  if (spec.error) return expectedRefusal(spec.error, `${commands.length} command(s)`);
  const differences: Difference[] = [];
  if (spec.commands) {
    differences.push(
      ...compareList(
        (i) => `commands[${i}]`,
        spec.commands,
        commands,
        (where, expected, index) => {
          const want = spec.commands![index]!;
          const got = commands[index];
          const cover: Difference[] = [];
          if (got && want.domain !== undefined && want.domain !== got.domain)
            cover.push({ where, message: `domain: expected "${want.domain}", got "${got.domain}"` });
          if (got && want.root !== undefined && want.root !== got.root)
            cover.push({ where, message: `root: expected ${want.root}, got ${got.root}` });
          return [...cover, ...comparePayload(where, expected, got)];
        },
      ),
    );
  }
  if (spec.books) {
    const books = answer.books;
    for (let index = 0; index < Math.max(spec.books.length, books.length); index++) {
      const want = spec.books[index];
      const got = books[index];
      const where = `books[${index}]`;
      if (!got) {
        differences.push({ where, message: 'expected a book, got none' });
        continue;
      }
      const events = got.pages.map((page) => actualOf(page.Event, types)!);
      if (!want) {
        differences.push({
          where,
          message: `unexpected book of ${got.cover?.domain}: ${describeAnswer(events)}`,
        });
        continue;
      }
      const domain = got.cover?.domain ?? '';
      const root = uuidFromBytes(got.cover?.root?.value ?? new Uint8Array(16));
      if (want.domain !== undefined && want.domain !== domain)
        differences.push({ where, message: `domain: expected "${want.domain}", got "${domain}"` });
      if (want.root !== undefined && want.root !== root)
        differences.push({ where, message: `root: expected ${want.root}, got ${root}` });
      differences.push(...compareList((i) => `${where}.events[${i}]`, want.events, events));
    }
  }
  return differences;
};

const runProjector = async (
  client: InstanceType<typeof ProjectorClient>,
  spec: ProjectorCase,
  types: PayloadTypes,
): Promise<Difference[]> => {
  let answer;
  try {
    answer = await callUnary(
      client.handleSync.bind(client),
      book(spec.domain, spec.root, spec.given, spec.givenFrom),
      { timeoutMs: CALL_TIMEOUT_MS },
    );
  } catch (err) {
    return compareError(spec.error, refusalOf(err));
  }
  if (spec.error) return expectedRefusal(spec.error, `projection at sequence ${answer.sequence}`);
  const differences: Difference[] = [];
  if (spec.projection) {
    differences.push(...comparePayload('projection', spec.projection, actualOf(answer.projection, types)));
  }
  if (spec.sequence !== undefined && spec.sequence !== answer.sequence) {
    differences.push({
      where: 'sequence',
      message: `expected ${spec.sequence}, got ${answer.sequence}`,
      expected: spec.sequence,
      actual: answer.sequence,
    });
  }
  return differences;
};

const clientFor = (file: SpecFile, address: string): Client => {
  const insecure = credentials.createInsecure();
  if (file.target.kind === 'businessLogic') return new BusinessLogicClient(address, insecure);
  if (file.target.kind === 'saga') return new SagaClient(address, insecure);
  return new ProjectorClient(address, insecure);
};

const connect = (client: Client): Promise<void> =>
  new Promise((resolve, reject) =>
    client.waitForReady(Date.now() + CONNECT_TIMEOUT_MS, (err) => (err ? reject(err) : resolve())),
  );

/** Runs every case of `file` against `address`, in order; `onCase` hears of each as it ends. */
export const runSpecFile = async (
  file: SpecFile,
  address: string,
  types: PayloadTypes,
  options: { signal: AbortSignal; onCase?: (result: CaseResult) => void },
): Promise<CaseResult[]> => {
  const client = clientFor(file, address);
  const results: CaseResult[] = [];
  const done = (result: CaseResult): void => {
    results.push(result);
    options.onCase?.(result);
  };
  try {
    try {
      await connect(client);
    } catch {
      const message = `cannot reach ${targetLabel(file.target)} at ${address} (nothing answered within ${CONNECT_TIMEOUT_MS / 1000} s)`;
      for (const c of file.cases)
        done({ name: c.name, passed: false, differences: [{ where: 'target', message }] });
      return results;
    }
    for (const spec of file.cases) {
      options.signal.throwIfAborted();
      let differences: Difference[];
      try {
        differences =
          spec.kind === 'businessLogic'
            ? await runBusinessLogic(
                client as InstanceType<typeof BusinessLogicClient>,
                spec,
                file.target.name,
                types,
              )
            : spec.kind === 'saga'
              ? await runSaga(client as InstanceType<typeof SagaClient>, spec, types)
              : await runProjector(client as InstanceType<typeof ProjectorClient>, spec, types);
      } catch (err) {
        differences = [{ where: 'target', message: (err as Error).message }];
      }
      done({ name: spec.name, passed: differences.length === 0, differences });
    }
  } finally {
    client.close();
  }
  return results;
};
