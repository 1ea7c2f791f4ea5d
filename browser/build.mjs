// Bundles the two pages for the browser: page/main.js with Uppy 6 (this package's
// node_modules) into dist/page6.js, and uppy5/main.js with Uppy 5 (uppy5/node_modules)
// into dist/page5.js.
import { build } from 'esbuild'

for (const [entry, out] of [['page/main.js', 'dist/page6.js'], ['uppy5/main.js', 'dist/page5.js']]) {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'chrome120',
    outfile: out,
    logLevel: 'warning',
  })
}
