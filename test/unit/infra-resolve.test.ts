import { createServer, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors/index.js';
import { amqpAnswers, resolveBus, resolveConfigSource } from '../../runtime/infra/resolve.js';

/** The ladder's first rungs, which need no service: flags and evented.yaml decide, and each choice says why. */

const context = { projectDir: '/work/bank', env: {} };
const amqp = { kind: 'amqp' as const, url: 'amqp://u:secret@broker:5672', exchange: 'ev', prefetch: 4 };

describe('resolveBus', () => {
  it('takes the embedded in-process bus when neither a flag nor evented.yaml asks for RabbitMQ', async () => {
    const bus = await resolveBus(undefined, { kind: 'memory' }, context);
    expect(bus.value).toEqual({ kind: 'memory' });
    expect(bus.choice).toMatchObject({ chosen: 'in-process memory bus', why: 'the embedded default' });
    expect(bus.choice.instead).toContain('--bus rabbitmq');
    expect(bus.started).toBeUndefined();
  });

  it("takes evented.yaml's broker, hiding its password, and --bus memory over it", async () => {
    const configured = await resolveBus(undefined, amqp, context);
    expect(configured.value).toBe(amqp);
    expect(configured.choice).toMatchObject({
      chosen: 'RabbitMQ at amqp://u:***@broker:5672',
      why: 'evented.yaml sets bus.url',
    });
    expect((await resolveBus('memory', amqp, context)).value).toEqual({ kind: 'memory' });
  });

  it("takes --bus URL, keeping evented.yaml's exchange and prefetch", async () => {
    const bus = await resolveBus('amqp://other:5672', amqp, context);
    expect(bus.value).toEqual({ ...amqp, url: 'amqp://other:5672' });
    expect(bus.choice.why).toBe('--bus gives its URL');
  });

  it('refuses anything else, saying what it expects', async () => {
    await expect(resolveBus('kafka', { kind: 'memory' }, context)).rejects.toThrow(ConfigError);
    await expect(resolveBus('kafka', { kind: 'memory' }, context)).rejects.toThrow(
      '--bus kafka: expected memory, rabbitmq or an amqp:// URL',
    );
  });
});

describe('resolveConfigSource', () => {
  it("reads the project's evented.yaml by default, and a Consul URL when given one", async () => {
    expect((await resolveConfigSource(undefined, context)).value).toEqual({
      kind: 'file',
      path: '/work/bank/evented.yaml',
    });
    expect((await resolveConfigSource('http://10.0.0.5:8500', context)).value).toEqual({
      kind: 'consul',
      url: 'http://10.0.0.5:8500',
      private: false,
    });
  });
});

describe('amqpAnswers', () => {
  const servers: ReturnType<typeof createServer>[] = [];
  afterAll(() => servers.forEach((server) => server.close()));
  const listen = (onConnection: (socket: Socket) => void): Promise<number> =>
    new Promise((resolve) => {
      const server = createServer(onConnection);
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });

  it('is false for a port that accepts connections but does not speak AMQP (a container proxy before the broker is up)', async () => {
    const port = await listen((socket) => socket.end());
    expect(await amqpAnswers(`amqp://127.0.0.1:${port}`, 500)).toBe(false);
  });

  it('is true when the answer to the protocol header is a method frame (Connection.Start)', async () => {
    const port = await listen((socket) => socket.once('data', () => socket.write(Buffer.from([1, 0, 0]))));
    expect(await amqpAnswers(`amqp://127.0.0.1:${port}`, 500)).toBe(true);
  });
});
