import { ValidationError } from '../errors/index.js';
import type { Cover } from './gen/evented/evented.js';

/** Validation of the fields every request carries. Messages name the field, so any client can fix it. */

export interface ValidCover {
  domain: string;
  root: Uint8Array;
}

const DOMAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export const isValidDomainName = (domain: string): boolean => DOMAIN_NAME.test(domain);

export const validateCover = (cover: Cover | undefined, field = 'cover'): ValidCover => {
  if (cover === undefined)
    throw new ValidationError(`${field} is missing: a book must say which aggregate it is for`);
  if (cover.domain === '') throw new ValidationError(`${field}.domain is empty`);
  if (!isValidDomainName(cover.domain)) {
    throw new ValidationError(
      `${field}.domain "${cover.domain}" is not a valid domain name: use letters, digits, '_', '.', '-' (at most 128)`,
    );
  }
  const root = cover.root?.value;
  if (root === undefined || root.length === 0) throw new ValidationError(`${field}.root is missing`);
  if (root.length !== 16)
    throw new ValidationError(`${field}.root must be 16 bytes (a UUID), got ${root.length}`);
  return { domain: cover.domain, root };
};
