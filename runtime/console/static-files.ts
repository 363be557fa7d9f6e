import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The console's pages: the built bundle (`dist/console/` of the package, built by `npm run build`), served as
 * files. index.html answers `/` and every path that is not a file (the pages' own routes: /events, /trace/…), and
 * is never cached, so that a new build is picked up; the hashed assets next to it may be. Without a bundle, a
 * page says how to build one.
 */

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The package's root: the first folder up from this module with evented's package.json (source or dist/). */
export const packageRoot = (from = dirname(fileURLToPath(import.meta.url))): string => {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'evented') return dir;
      } catch {
        // not ours: go on up
      }
    }
    if (dirname(dir) === dir) return from;
  }
};

/** Where the built console is: dist/console/ of the package. */
export const defaultBundleDir = (): string => join(packageRoot(), 'dist', 'console');

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>evented console</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The console was not built</h1>
<p>This evented has no console bundle (dist/console/). In evented's folder, run <code>npm run build</code>,
then reload this page. The console's API (<code>/api/…</code>) works without it.</p>
</body></html>
`;

/** Hashed file names (Vite's assets/NAME-HASH.js) never change: a browser may keep them. */
const IMMUTABLE = /^\/assets\//;

export const serveStatic = async (
  bundleDir: string,
  path: string,
  response: ServerResponse,
  head: boolean,
): Promise<void> => {
  const index = join(bundleDir, 'index.html');
  if (!existsSync(index)) {
    response
      .writeHead(503, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' })
      .end(head ? undefined : NOT_BUILT);
    return;
  }
  let file = index;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    decoded = '/';
  }
  const wanted = resolve(bundleDir, `.${decoded}`);
  // Never outside the bundle (/../../etc/passwd), and a folder is a page route.
  if (wanted.startsWith(resolve(bundleDir) + sep) && isFile(wanted)) file = wanted;
  else if (IMMUTABLE.test(decoded)) {
    // A script or style sheet that is not there (a page of an earlier build): not the page in its place, which a
    // browser would try to run as a script.
    response
      .writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' })
      .end(head ? undefined : `not found: ${decoded} (the console was built again since: reload the page)\n`);
    return;
  }
  const body = await readFile(file);
  response
    .writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control':
        file !== index && IMMUTABLE.test(decoded) ? 'public, max-age=31536000, immutable' : 'no-cache',
    })
    .end(head ? undefined : body);
};

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};
