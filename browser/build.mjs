// Bundles page/main.js (Uppy and its plugin) into dist/page.js for the browser.
import { build } from 'esbuild'

await build({
  entryPoints: ['page/main.js'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'chrome120',
  outfile: 'dist/page.js',
  logLevel: 'warning',
})
