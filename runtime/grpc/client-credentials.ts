import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { isIP } from 'node:net';
import { credentials, Metadata, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';

/**
 * What a client of evented's — the runtime calling a user's service or another runtime, the CLI calling a
 * runtime — presents: TLS (PEM contents, already read) and the token. One place, so that grpc-js channels, the
 * lean HTTP/2 client (unary-client.ts) and the CLI verify servers alike. Loaded by the CLI too: keep it light.
 */

export interface ClientTls {
  /** The CAs the server's certificate must be signed by; without them, the system's. */
  ca?: Buffer;
  /** A client certificate chain and its key, for a server that asks for one (mutual TLS). */
  cert?: Buffer;
  key?: Buffer;
  /** The name the server's certificate must carry, when the address does not (an IP, a port-forward). */
  serverName?: string;
  /**
   * Accept exactly this certificate (its SHA-256 fingerprint, as Node prints it), whatever name it carries: how
   * a runtime checks its own servers, which it reaches by the address it bound (0.0.0.0, an IP).
   */
  pinnedFingerprint?: string;
}

/** Where the token travels: gRPC metadata `authorization: Bearer TOKEN`. */
export const TOKEN_METADATA = 'authorization';

/** The metadata carrying `token`, added to `metadata` (a new Metadata by default). */
export const withToken = (token: string | undefined, metadata = new Metadata()): Metadata => {
  if (token !== undefined) metadata.set(TOKEN_METADATA, `Bearer ${token}`);
  return metadata;
};

const pinnedCheck =
  (fingerprint: string) =>
  (_host: string, cert: PeerCertificate): Error | undefined =>
    cert.fingerprint256 === fingerprint
      ? undefined
      : new Error(`the server's certificate is not the one expected (${cert.fingerprint256})`);

/** The host of host:port (an IPv6 address without its brackets). */
const hostOf = (address: string): string => {
  const host = address.replace(/:\d+$/, '');
  return host.replace(/^\[(.*)\]$/, '$1');
};

/**
 * grpc-js credentials and channel options for `address` (host:port): TLS as `tls` says, or plaintext when it is
 * undefined. The server's certificate must carry `serverName`, else the address's host (a name or an IP); a
 * pinned one is checked by its fingerprint alone.
 */
export const channelCredentials = (
  tls: ClientTls | undefined,
  address: string,
): { credentials: ChannelCredentials; options: ChannelOptions } => {
  if (tls === undefined) return { credentials: credentials.createInsecure(), options: {} };
  const { pinnedFingerprint, serverName } = tls;
  const host = hostOf(address);
  // grpc-js sends the address's host in the handshake (SNI) and checks it; SNI takes no IP address (RFC 6066, and
  // Node warns), so for an IP a placeholder name is sent and the IP is checked here instead.
  const check =
    pinnedFingerprint !== undefined
      ? pinnedCheck(pinnedFingerprint)
      : serverName === undefined && isIP(host) !== 0
        ? (_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert)
        : undefined;
  const name = serverName ?? (check === undefined ? undefined : PLACEHOLDER_SNI);
  return {
    credentials: credentials.createSsl(
      tls.ca ?? null,
      tls.key ?? null,
      tls.cert ?? null,
      check === undefined ? {} : { checkServerIdentity: check },
    ),
    options:
      name === undefined
        ? {}
        : {
            'grpc.ssl_target_name_override': name,
            ...(serverName !== undefined && { 'grpc.default_authority': serverName }),
          },
  };
};

/** The name sent in the handshake when the certificate is checked otherwise (evented's servers ignore SNI). */
const PLACEHOLDER_SNI = 'evented.invalid';

/** node:tls options for a connection to `host` (the lean HTTP/2 client's). */
export const tlsConnectOptions = (tls: ClientTls, host: string): ConnectionOptions => {
  const { serverName, pinnedFingerprint } = tls;
  const check: ConnectionOptions['checkServerIdentity'] =
    pinnedFingerprint !== undefined
      ? pinnedCheck(pinnedFingerprint)
      : serverName !== undefined
        ? (_host, cert) => checkServerIdentity(serverName, cert)
        : undefined;
  const name = serverName ?? host;
  return {
    ...(tls.ca && { ca: tls.ca }),
    ...(tls.cert && { cert: tls.cert }),
    ...(tls.key && { key: tls.key }),
    // SNI carries a name, never an IP address (RFC 6066).
    ...(isIP(name) === 0 && { servername: name }),
    ...(check && { checkServerIdentity: check }),
  };
};
