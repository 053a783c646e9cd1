// Writes package.json's version into src/version.ts (run by `npm version` through the "version" script).
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
const file = new URL('src/version.ts', root);
const src = readFileSync(file, 'utf8');
const next = src.replace(/^export const version = '[^']*';$/m, `export const version = '${version}';`);
if (!next.includes(`export const version = '${version}';`)) throw new Error('sync-version: no `export const version` line in src/version.ts');
writeFileSync(file, next);
