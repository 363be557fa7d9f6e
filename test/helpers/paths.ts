import { fileURLToPath } from 'node:url';

/** Absolute paths into this repository. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const tsxBin = `${repoRoot}node_modules/.bin/tsx`;
export const eventedBin = `${repoRoot}bin/evented.js`;
export const typescriptTemplate = `${repoRoot}templates/typescript`;
