import { execa } from 'execa';
import { accessSync, chownSync, constants, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { UnavailableError } from '../../errors/index.js';

/**
 * Everything a private RabbitMQ node needs on disk, under one data folder, and the environment that points the
 * node at it. The node must not pick up the machine's own broker settings: /etc/rabbitmq/rabbitmq.conf may pin
 * a listener to 5672 and /etc/rabbitmq/rabbitmq-env.conf sets NODENAME, so the node gets its own config file,
 * its own env file (keeping the machine's loopback-only Erlang distribution) and an empty plugins file.
 */

export interface NodeLayout {
  dataDir: string;
  nodeName: string;
  port: number;
  distPort: number;
}

export interface NodeFiles {
  env: Record<string, string>;
  /** The node's own log. */
  logFile: string;
  /** What rabbitmq-server printed (early boot errors land here). */
  outputFile: string;
  pidFile: string;
}

const CONFIG = (port: number): string =>
  [
    '# Written by evented for a private RabbitMQ node; the machine-wide /etc/rabbitmq/rabbitmq.conf does not apply.',
    `listeners.tcp.1 = 127.0.0.1:${port}`,
    'log.console = false',
    'log.file.level = info',
    '',
  ].join('\n');

const ENV_FILE = [
  '# Written by evented: replaces /etc/rabbitmq/rabbitmq-env.conf for this node (its NODENAME must not apply).',
  'ERL_EPMD_ADDRESS=127.0.0.1',
  'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"',
  '',
].join('\n');

export const prepareNodeFiles = async (layout: NodeLayout): Promise<NodeFiles> => {
  const { dataDir, nodeName, port, distPort } = layout;
  const mnesia = join(dataDir, 'mnesia');
  const logs = join(dataDir, 'log');
  mkdirSync(mnesia, { recursive: true });
  mkdirSync(logs, { recursive: true });
  const config = join(dataDir, 'rabbitmq.conf');
  const envFile = join(dataDir, 'rabbitmq-env.conf');
  const plugins = join(dataDir, 'enabled_plugins');
  writeFileSync(config, CONFIG(port));
  writeFileSync(envFile, ENV_FILE);
  writeFileSync(plugins, ''); // no plugins
  await giveToBrokerUser(dataDir);
  return {
    env: {
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: mnesia,
      RABBITMQ_LOG_BASE: logs,
      RABBITMQ_ENABLED_PLUGINS_FILE: plugins,
      RABBITMQ_CONFIG_FILE: config,
      RABBITMQ_ADVANCED_CONFIG_FILE: join(dataDir, 'advanced.config'),
      RABBITMQ_CONF_ENV_FILE: envFile,
      RABBITMQ_PID_FILE: join(dataDir, 'rabbitmq.pid'),
      ERL_CRASH_DUMP: join(logs, 'erl_crash.dump'),
    },
    logFile: join(logs, `${nodeName}.log`),
    outputFile: join(logs, 'server-output.log'),
    pidFile: join(dataDir, 'rabbitmq.pid'),
  };
};

/**
 * Debian's rabbitmq-server, started as root, runs the broker as the user `rabbitmq`: the data folder must be
 * that user's, and every folder above it must let that user through.
 */
const giveToBrokerUser = async (dataDir: string): Promise<void> => {
  if (process.getuid?.() !== 0) return;
  const ids = await Promise.all(
    ['-u', '-g'].map((flag) =>
      execa('id', [flag, 'rabbitmq'], { reject: false }).then((r) => Number(r.stdout)),
    ),
  );
  const [uid, gid] = ids as [number, number];
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid <= 0) return; // no such user: runs as root
  const chownTree = (path: string): void => {
    chownSync(path, uid, gid);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry));
  };
  chownTree(dataDir);
  for (let dir = dirname(dataDir); dir !== dirname(dir); dir = dirname(dir)) {
    const { mode, uid: owner, gid: group } = statSync(dir);
    const passable = mode & 0o001 || (owner === uid && mode & 0o100) || (group === gid && mode & 0o010);
    if (!passable) {
      throw new UnavailableError(
        `the user "rabbitmq" cannot reach ${dataDir}: ${dir} does not let it through`,
        {
          hint: 'choose a data folder under /tmp or /var/lib, or allow it: chmod o+x ' + dir,
        },
      );
    }
  }
};

/** Where an installed program is: on PATH, or in the sbin folders that a non-root PATH often lacks. */
export const findProgram = (name: string): { path: string | undefined; searched: string[] } => {
  const searched = [
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean),
    '/usr/sbin',
    '/usr/local/sbin',
    '/opt/homebrew/sbin',
  ];
  for (const dir of searched) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return { path, searched };
    } catch {
      // not here
    }
  }
  return { path: undefined, searched };
};
