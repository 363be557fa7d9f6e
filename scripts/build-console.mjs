// Builds the web console's pages (console/) into dist/console/: index.html and assets/ (one script, one style
// sheet, their names hashed so that a server may let browsers keep them), which the admin role serves and the npm
// package ships. Bundled and minified by esbuild, so the console needs nothing from the network at run time;
// prints the bundle's size, which the README states.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/console');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
const { metafile } = await build({
  entryPoints: { console: join(root, 'console/main.tsx') },
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
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
// The outputs, relative to dist/console: assets/console-HASH.js and assets/console-HASH.css.
const outputs = Object.keys(metafile.outputs).map((file) => relative(out, join(root, file)));
const named = (ext) => {
  const file = outputs.find((name) => name.endsWith(ext));
  if (!file) throw new Error(`build-console: esbuild wrote no ${ext} file (outputs: ${outputs.join(', ')})`);
  return file;
};
let html = readFileSync(join(root, 'console/index.html'), 'utf8');
for (const [placeholder, file] of [
  ['./assets/console.js', named('.js')],
  ['./assets/console.css', named('.css')],
]) {
  if (!html.includes(placeholder))
    throw new Error(`build-console: console/index.html does not load ${placeholder}`);
  html = html.replace(placeholder, `./${file}`);
}
writeFileSync(join(out, 'index.html'), html);

const sizes = [named('.js'), named('.css')].map((file) => {
  const bytes = readFileSync(join(out, file));
  return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const total = sizes.reduce((sum, { gzip }) => sum + gzip, 0);
console.log(
  `console bundle: ${sizes.map(({ file, raw, gzip }) => `${basename(file)} ${kb(raw)} (${kb(gzip)} gzip)`).join(', ')}; ` +
    `${kb(total)} gzip in all`,
);
