// Bundles the viewer's page (app/main.ts and what it imports, lightweight-charts included) into
// dist/app/: one script, one stylesheet, the page. No CDN: the page works offline. Run by
// `npm run build` after `tsc -b`.
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const out = `${here}dist/app/`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${here}app/main.ts`],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  outfile: `${out}app.js`,
  logLevel: 'warning',
});
copyFileSync(`${here}app/index.html`, `${out}index.html`);
copyFileSync(`${here}app/style.css`, `${out}app.css`);
