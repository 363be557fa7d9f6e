import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, deposit, newRoot, open, withdraw } from '../helpers/account.js';
import {
  startSampleBusinessLogic,
  startSampleProjector,
  startSampleSaga,
} from '../helpers/business-logic.js';
import { uuidFromBytes } from '../../runtime/protocol/uuid.js';
import { assertBuilt, freeRuntimePorts, newProject, startServeAs } from '../helpers/cli.js';
import { commandClient } from '../helpers/clients.js';
import { deleteAmqpTopology } from '../helpers/delivery.js';
import { eventually } from '../helpers/eventually.js';
import { readAccounts } from '../helpers/read-model.js';
import { startOtlpGrpcReceiver, startOtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { startTestRuntime } from '../helpers/runtime.js';
import { describeWith } from '../helpers/services.js';
import { dropScratchSchemas, scratchNames } from '../helpers/store-adapter.js';
import { tempDir } from '../helpers/tmp.js';

/**
 * Traces across processes (README "Observability → Traces"): a deployment of two `evented serve` processes, one
 * with the roles command and relay, one with projectors, on one PostgreSQL schema and one RabbitMQ exchange, the
 * sample business logic and projector (templates/typescript), and every process exporting OTLP/HTTP to a receiver
 * of the test's own. One command, sent with a caller's `traceparent`, makes one trace: the caller's span, the
 * command, the business-logic call and the template's span inside the business logic, the append, the relay's
 * publish (another trace's span would be linked, this one's is a child), the delivery in the other process and
 * its call to the projector. The evented processes export on a long batch delay, so the spans reach the receiver
 * only because SIGTERM flushes them.
 */

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

beforeAll(() => assertBuilt());

describeWith('postgres', 'traces', (postgresUrl) => {
  describeWith('rabbitmq', 'across evented serve processes', (amqpUrl) => {
    const schemas = scratchNames();
    const exchange = `evented-test-${randomUUID()}`;
    afterAll(async () => {
      await deleteAmqpTopology(amqpUrl, exchange, ['projector:accounts', 'saga:transfers']);
      await dropScratchSchemas(postgresUrl, schemas.run);
    });

    it('one command is one trace: command, business logic and its own span, append, publish, delivery, projector; a saga carries it on to its command', async () => {
      const receiver = await startOtlpReceiver();
      const readModel = join(tempDir(), 'accounts.json');
      const otel = {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      };
      const [logic, projector, saga] = await Promise.all([
        startSampleBusinessLogic({
          env: { ...otel, OTEL_SERVICE_NAME: 'sample-business-logic', OTEL_BSP_SCHEDULE_DELAY: '100' },
        }),
        startSampleProjector(readModel),
        startSampleSaga(),
      ]);
      const ports = await freeRuntimePorts();
      const { dir } = await newProject({
        name: 'bank',
        log: { level: 'warn' },
        store: { kind: 'postgres', url: postgresUrl, schema: schemas.next(), poolSize: 4 },
        bus: { kind: 'amqp', url: amqpUrl, exchange },
        domains: { account: { businessLogic: logic.address } },
        projectors: { accounts: { address: projector.address, domains: ['account'] } },
        sagas: { transfers: { address: saga.address, domains: ['account'] } },
        // The sagas' commands go from the second process to the first over gRPC.
        commandHandler: { address: `127.0.0.1:${ports.commands}` },
        ports,
      });
      // Spans leave the evented processes only at shutdown (the batch delay is an hour): SIGTERM flushes them.
      const held = { ...otel, OTEL_BSP_SCHEDULE_DELAY: '3600000' };
      const [front, back] = await Promise.all([
        startServeAs(dir, 'command,relay', 30_000, held),
        startServeAs(dir, 'projectors,sagas', 30_000, held),
      ]);

      // A caller with a trace of its own sends the command with its traceparent; later, in another trace, a
      // transfer to an account opened meanwhile, which the saga carries on as a command to the receiver.
      const newCaller = () => ({
        traceId: randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
      });
      const traceparentOf = (c: { traceId: string; spanId: string }) => `00-${c.traceId}-${c.spanId}-01`;
      const [caller, transferCaller] = [newCaller(), newCaller()];
      const [root, receiving] = [newRoot(), newRoot()];
      const commands = commandClient(front.servers.commands!);
      await commands.handle(command(root, open('ada'), deposit(100)), 10_000, undefined, {
        traceparent: traceparentOf(caller),
      });
      await commands.handle(command(receiving, open('grace')));
      await commands.handle(
        command(root, { type: 'TransferMoney', toAccount: uuidFromBytes(receiving), amount: 30 }),
        10_000,
        undefined,
        { traceparent: traceparentOf(transferCaller) },
      );
      // The business logic's span arrives on its own (its batch delay is 100 ms): the projector's call is
      // awaited through the read model the sample projector keeps.
      await eventually(() => {
        expect(receiver.spans.some((span) => span.resource['service.name'] === 'sample-business-logic')).toBe(
          true,
        );
      }, 20_000);
      await eventually(() => {
        expect(readAccounts(readModel)).toMatchObject({
          [uuidFromBytes(root)]: { owner: 'ada', balance: 70 },
          [uuidFromBytes(receiving)]: { owner: 'grace', balance: 30 },
        });
      }, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const evented = receiver.spans.filter((span) =>
        String(span.resource['service.name']).startsWith('evented'),
      );
      expect(evented, 'no evented span is exported before shutdown').toEqual([]);

      expect(await front.process.stop('SIGTERM')).toEqual({ exitCode: 0, signal: undefined });
      expect(await back.process.stop('SIGTERM')).toEqual({ exitCode: 0, signal: undefined });
      expect(receiver.undecodable).toEqual([]);

      const trace = receiver.spans.filter((span) => span.traceId === caller.traceId);
      const one = (name: string, service: string): ReceivedSpan => {
        const found = trace.filter((span) => span.name === name && span.resource['service.name'] === service);
        expect(
          found.map((span) => span.name),
          `${name} from ${service} in ${JSON.stringify(trace)}`,
        ).toEqual([name]);
        return found[0]!;
      };
      const commandSpan = one('evented.command account', 'evented-command-relay');
      const businessLogic = one('evented.business_logic account', 'evented-command-relay');
      const inTemplate = one('account business logic/handle', 'sample-business-logic');
      const append = one('evented.append account', 'evented-command-relay');
      const publish = one('evented.relay.publish', 'evented-command-relay');
      const delivery = one('evented.deliver projector:accounts', 'evented-projectors-sagas');
      const projectorCall = one('evented.projector accounts', 'evented-projectors-sagas');

      // The shape of the trace: who is whose child, and of which kind each is.
      expect(commandSpan).toMatchObject({ parentSpanId: caller.spanId, kind: SERVER });
      expect(commandSpan.attributes).toMatchObject({ 'evented.domain': 'account', 'rpc.method': 'Handle' });
      expect(businessLogic).toMatchObject({ parentSpanId: commandSpan.spanId, kind: CLIENT });
      expect(businessLogic.attributes).toMatchObject({
        'rpc.system': 'grpc',
        'rpc.service': 'evented.BusinessLogic',
      });
      expect(inTemplate).toMatchObject({ parentSpanId: businessLogic.spanId, kind: SERVER });
      expect(append.parentSpanId).toBe(commandSpan.spanId);
      expect(publish).toMatchObject({ parentSpanId: append.spanId, kind: PRODUCER });
      expect(publish.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'evented.events': 2 });
      expect(delivery).toMatchObject({ parentSpanId: append.spanId, kind: CONSUMER });
      expect(delivery.attributes).toMatchObject({
        'evented.subscriber': 'projector:accounts',
        'evented.events': 2,
      });
      expect(projectorCall).toMatchObject({ parentSpanId: delivery.spanId, kind: CLIENT });
      expect(projectorCall.attributes).toMatchObject({ 'rpc.service': 'evented.Projector' });
      // Each process says what it is.
      expect(commandSpan.resource).toMatchObject({
        'evented.project': 'bank',
        'evented.roles': 'command,relay',
      });
      expect(delivery.resource).toMatchObject({
        'evented.project': 'bank',
        'evented.roles': 'projectors,sagas',
      });
      expect(delivery.resource['process.pid']).toBe(back.process.pid);
      expect(commandSpan.resource['process.pid']).toBe(front.process.pid);
      expect(commandSpan.attributes['evented.correlation_id']).toMatch(/^[0-9a-f-]{36}$/);
      // No payload travels in a span.
      expect(JSON.stringify(trace)).not.toContain('ada');

      // The transfer's trace: the saga's delivery (a child of the transfer's append), its call to the saga and
      // its command, sent over gRPC to the first process, where it is a command span of the same trace.
      const transfer = receiver.spans.filter((span) => span.traceId === transferCaller.traceId);
      const named = (name: string) => transfer.filter((span) => span.name === name);
      const [transferCommand, sagaCommandInFront] = [
        named('evented.command account').find((span) => span.parentSpanId === transferCaller.spanId),
        named('evented.command account').find((span) => span.parentSpanId !== transferCaller.spanId),
      ];
      expect(transferCommand, JSON.stringify(transfer)).toBeDefined();
      const transferAppend = named('evented.append account').find(
        (span) => span.parentSpanId === transferCommand!.spanId,
      );
      const sagaDelivery = named('evented.deliver saga:transfers').find(
        (span) => span.parentSpanId === transferAppend?.spanId,
      );
      expect(sagaDelivery, JSON.stringify(transfer)).toMatchObject({ kind: CONSUMER });
      expect(sagaDelivery!.resource['process.pid']).toBe(back.process.pid);
      expect(
        named('evented.saga transfers').find((span) => span.parentSpanId === sagaDelivery!.spanId),
      ).toMatchObject({
        kind: CLIENT,
        attributes: { 'rpc.service': 'evented.Saga', 'rpc.method': 'HandleSync' },
      });
      const sagaCommand = named('evented.saga.command account').find(
        (span) => span.parentSpanId === sagaDelivery!.spanId,
      );
      expect(sagaCommand, JSON.stringify(transfer)).toBeDefined();
      expect(sagaCommandInFront).toMatchObject({ parentSpanId: sagaCommand!.spanId, kind: SERVER });
      expect(sagaCommandInFront!.resource['process.pid']).toBe(front.process.pid);
      // The saga's command keeps the transfer's correlation.
      expect(sagaCommandInFront!.attributes['evented.correlation_id']).toBe(
        transferCommand!.attributes['evented.correlation_id'],
      );
    });
  });
});

describe('traces over OTLP/gRPC', () => {
  it('a refused command: its span and the business-logic call are ERROR with the gRPC code; flushed on close', async () => {
    const receiver = await startOtlpGrpcReceiver();
    const logic = await startSampleBusinessLogic();
    // In this process: the runtime's own close() flushes (the batch delay is an hour).
    const { runtime, commands } = await startTestRuntime(
      { domains: { account: { businessLogic: logic.address } } },
      {
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
          OTEL_BSP_SCHEDULE_DELAY: '3600000',
        },
      },
    );
    const root = newRoot();
    await commands.handle(command(root, open('ada'), deposit(10)));
    await expect(commands.handle(command(root, withdraw(50)))).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
    });
    await runtime.close(100);

    const refused = receiver.spans.filter((span) => span.status.code === 2);
    expect(refused.map((span) => span.name).sort()).toEqual([
      'evented.business_logic account',
      'evented.command account',
    ]);
    for (const span of refused) {
      expect(span.attributes['rpc.grpc.status_code']).toBe(status.FAILED_PRECONDITION);
      expect(span.resource['service.name']).toBe('evented');
    }
    const [businessLogic, commandSpan] = [...refused].sort((a, b) => a.name.localeCompare(b.name));
    expect(businessLogic!.parentSpanId).toBe(commandSpan!.spanId);
    // The accepted command before it: a trace of its own, with no error, which its events' publish joins (the
    // in-process bus here; the relay reads the traceparent stored with them).
    const acceptedCommand = receiver.spans.find(
      (span) => span.name === 'evented.command account' && span.status.code === 0,
    );
    const accepted = receiver.spans.filter((span) => span.traceId === acceptedCommand?.traceId);
    expect(accepted.map((span) => span.name).sort()).toEqual([
      'evented.append account',
      'evented.business_logic account',
      'evented.command account',
      'evented.load account',
      'evented.relay.publish',
    ]);
    expect(accepted.every((span) => span.status.code === 0)).toBe(true);
  });
});
