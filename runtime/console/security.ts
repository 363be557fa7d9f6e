import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { isLoopbackHost } from '../config/schema.js';
import type { ApiError } from './api.js';

/**
 * The console's defences (api.ts, "Safety"), checked before anything else is read:
 * - DNS rebinding: a page of evil.example whose name is made to point at 127.0.0.1 reaches this server with
 *   `Host: evil.example:1317`. Every request's Host must name this server, or it gets 421.
 * - CSRF: a page elsewhere can make the browser POST here, but cannot make it send this server's Origin, nor read
 *   the per-run token (GET /api/session is same-origin only: no CORS). An action without both gets 403.
 * - Off loopback: every /api request carries the configured token (header, or cookie for an EventSource).
 */

export interface Refusal {
  status: 421 | 403 | 401;
  body: ApiError;
}

/** The cookie a page may carry the configured token in (an EventSource cannot set a header). */
export const TOKEN_COOKIE = 'evented-console-token';
/** The header an action carries the per-run token in. */
export const RUN_TOKEN_HEADER = 'x-evented-token';

const isWildcard = (host: string): boolean => host === '0.0.0.0' || host === '::' || host === '[::]';

const bracketed = (host: string): string =>
  host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;

/**
 * The Host values that name this server at `port`: its loopback names, the configured host, and on a wildcard
 * bind (0.0.0.0, ::) this machine's name and addresses.
 */
export const allowedHosts = (host: string, port: number): Set<string> => {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (isWildcard(host)) {
    names.add(hostname().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) names.add(bracketed(address.address.toLowerCase()));
    }
  } else names.add(bracketed(host.toLowerCase()));
  return new Set([...names].map((name) => `${name}:${port}`));
};

const sameSecret = (given: string, expected: string): boolean => {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
};

const cookieOf = (request: IncomingMessage, name: string): string | undefined => {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return decodeURIComponent(value.join('='));
  }
  return undefined;
};

export interface ConsoleGuard {
  /** Whether the request may be answered at all (Host; off loopback, the configured token on /api). */
  admit(request: IncomingMessage, path: string): Refusal | undefined;
  /** Whether an action (a POST) may be done: this server's Origin and the per-run token. */
  allowAction(request: IncomingMessage): Refusal | undefined;
}

export const consoleGuard = (options: {
  host: string;
  port: number;
  /** The per-run token (Session.token). */
  runToken: string;
  /** The configured token (console.token), required on /api when the console is not on loopback. */
  bearer: string | undefined;
}): ConsoleGuard => {
  const hosts = allowedHosts(options.host, options.port);
  const needsBearer = !isLoopbackHost(options.host);
  return {
    admit(request, path) {
      const host = (request.headers.host ?? '').toLowerCase();
      if (!hosts.has(host)) {
        return {
          status: 421,
          body: {
            error: `this is the evented console at port ${options.port}, not ${host || 'a server without a Host'}`,
            hint: `open it as http://127.0.0.1:${options.port}/ (a page that reaches it under another name is refused: DNS rebinding)`,
          },
        };
      }
      if (!needsBearer || !path.startsWith('/api/')) return undefined;
      const header = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      const given = header ?? cookieOf(request, TOKEN_COOKIE);
      if (options.bearer === undefined || given === undefined || !sameSecret(given, options.bearer)) {
        return {
          status: 401,
          body: {
            error:
              given === undefined ? 'this console needs its token' : 'the token given is not this console’s',
            hint: `send authorization: Bearer TOKEN (or the cookie ${TOKEN_COOKIE}) with the token of console.token in evented.yaml`,
          },
        };
      }
      return undefined;
    },
    allowAction(request) {
      const origin = request.headers.origin;
      const expected = `http://${request.headers.host ?? ''}`;
      if (origin !== expected) {
        return {
          status: 403,
          body: {
            error: `refused: an action must come from the console's own page (Origin ${expected}), not from ${origin ?? 'a request without an Origin'}`,
            hint: 'use the console at its own address; other pages cannot drive it (CSRF)',
          },
        };
      }
      const token = request.headers[RUN_TOKEN_HEADER];
      if (typeof token !== 'string' || !sameSecret(token, options.runToken)) {
        return {
          status: 403,
          body: {
            error: `refused: an action needs the header ${RUN_TOKEN_HEADER} with this run's token`,
            hint: 'reload the console: GET /api/session gives the token (it changes when the runtime restarts)',
          },
        };
      }
      return undefined;
    },
  };
};
