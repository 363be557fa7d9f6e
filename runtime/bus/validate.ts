import { ValidationError } from '../errors/index.js';
import { MAX_PARTITIONS } from './partition.js';
import type { PublishedBatch, SubscribeOptions } from './port.js';

/**
 * The rules every bus adapter applies to its arguments, so that the in-process bus refuses exactly what
 * RabbitMQ would (names become queue names and routing keys: at most 255 bytes, and `*`/`#` are wildcards
 * in topic bindings, so a domain may not contain them).
 */

const MAX_NAME_BYTES = 200;

const checkName = (what: string, value: unknown): void => {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`${what} is empty`);
  if (Buffer.byteLength(value) > MAX_NAME_BYTES) {
    throw new ValidationError(`${what} "${value.slice(0, 40)}…" is longer than ${MAX_NAME_BYTES} bytes`);
  }
};

export const checkDomain = (domain: unknown, what = 'domain'): void => {
  checkName(what, domain);
  if (/[*#]/.test(domain as string)) {
    throw new ValidationError(`${what} "${String(domain)}" contains "*" or "#" (wildcards of topic routing)`);
  }
};

const checkPartition = (partition: unknown, what: string): void => {
  if (partition === undefined) return;
  if (
    typeof partition !== 'number' ||
    !Number.isInteger(partition) ||
    partition < 0 ||
    partition >= MAX_PARTITIONS
  ) {
    throw new ValidationError(
      `${what} must be an integer from 0 to ${MAX_PARTITIONS - 1}, not ${String(partition)}`,
    );
  }
};

export const checkPublish = (batches: readonly PublishedBatch[]): void => {
  batches.forEach((published, index) => {
    checkDomain(published.domain, `batches[${index}].domain`);
    checkPartition(published.partition, `batches[${index}].partition`);
    if (published.batch === undefined || published.batch === null) {
      throw new ValidationError(`batches[${index}].batch is missing`);
    }
  });
};

export const checkSubscribe = (options: SubscribeOptions): void => {
  checkName('subscriber', options.subscriber);
  if (!Array.isArray(options.domains) || options.domains.length === 0) {
    throw new ValidationError(`subscriber "${options.subscriber}" follows no domain`);
  }
  options.domains.forEach((domain, index) => checkDomain(domain, `domains[${index}]`));
  checkPartition(options.partition, 'partition');
  const { prefetch, redeliveryDelayMs } = options;
  if (prefetch !== undefined && (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65535)) {
    throw new ValidationError(`prefetch must be an integer from 1 to 65535, not ${prefetch}`);
  }
  if (redeliveryDelayMs !== undefined && !(redeliveryDelayMs >= 0)) {
    throw new ValidationError(`redeliveryDelayMs must be 0 or more, not ${redeliveryDelayMs}`);
  }
};

export const DEFAULT_PREFETCH = 64;
export const DEFAULT_REDELIVERY_DELAY_MS = 1000;
