// Builds the web console's pages (console/) into dist/console/: index.html and assets/ (one script, one style
// sheet), which the admin role serves and the npm package ships. Bundled and minified by esbuild, so the console
// needs nothing from the network at run time; prints the bundle's size, which the README states.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/console');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
await build({
  entryPoints: { console: join(root, 'console/main.tsx') },
  outdir: join(out, 'assets'),
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: join(root, 'console/tsconfig.json'),
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(join(root, 'console/index.html'), join(out, 'index.html'));

const sizes = ['assets/console.js', 'assets/console.css'].map((file) => {
  const bytes = readFileSync(join(out, file));
  return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const total = sizes.reduce((sum, { gzip }) => sum + gzip, 0);
console.log(
  `console bundle: ${sizes.map(({ file, raw, gzip }) => `${file} ${kb(raw)} (${kb(gzip)} gzip)`).join(', ')}; ` +
    `${kb(total)} gzip in all`,
);
