/** Where the configuration is looked for in Consul when nothing says otherwise. Dependency-free (the CLI's help). */

export const DEFAULT_CONSUL_URL = 'http://127.0.0.1:8500';
export const DEFAULT_CONSUL_PREFIX = 'evented/';
