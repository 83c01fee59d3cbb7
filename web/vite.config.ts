// Build of the web app: `npm run build:web` (also run by `npm ci` via prepare and by
// `npm start` when web/dist is missing). Output goes to web/dist, never committed.
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything is a file under /assets/: no inline data URLs, so the CSP needs no exceptions.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
