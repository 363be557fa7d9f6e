import { ConfigError } from '../errors/index.js';

/**
 * Values the configuration may name instead of holding: `{ env: NAME }` is read from the runtime's environment
 * when it starts (a store's or broker's URL with its password, put there from a Kubernetes Secret), so that a
 * secret is never written in evented.yaml, a ConfigMap or Consul. Dependency-free: the CLI shows URLs with it.
 */

export interface FromEnv {
  env: string;
}

/** The value itself, or the value of the variable it names; a variable that is not set is a configuration error. */
export const valueOf = (value: string | FromEnv, key: string, env: NodeJS.ProcessEnv): string => {
  if (typeof value === 'string') return value;
  const found = env[value.env];
  if (found === undefined || found === '') {
    throw new ConfigError(`${key}: the environment variable ${value.env} is not set`, {
      hint: `set ${value.env} in the runtime's environment (Kubernetes: from a Secret, with secretKeyRef)`,
    });
  }
  return found;
};

/** The password of a URL (user:password@), if it holds one. */
export const passwordOf = (url: string): string | undefined => {
  const match = /^[a-z][a-z\d+.-]*:\/\/[^/@:]*:([^@/]*)@/i.exec(url);
  return match?.[1] === undefined || match[1] === '' ? undefined : match[1];
};

/** A URL as it may be shown: its password as ***; one read from the environment as `$NAME`. */
export const shownUrl = (value: string | FromEnv): string =>
  typeof value === 'string' ? value.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@') : `$${value.env}`;
