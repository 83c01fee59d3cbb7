// Builds the web app (web/) into web/dist with Vite. Run by `npm ci` (prepare) and, with
// --if-missing, before `npm start`, so the two README commands always serve a built app.
// web/dist is build output and never committed.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('../web/', import.meta.url));
if (process.argv.includes('--if-missing') && existsSync(`${root}dist/index.html`)) process.exit(0);
await build({ root, configFile: `${root}vite.config.ts`, logLevel: 'warn' });
console.error(`web app built into ${root}dist`);
