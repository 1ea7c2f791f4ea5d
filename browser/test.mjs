// Drives Debian's chromium (never a downloaded browser) with playwright-core through the
// page of page/main.js, served at Sluice's own origin: the page's HTML and bundle are
// answered by the browser context itself for /__browser_test__/*, every other request
// (Sluice's API, the store) goes over the network. Prints one `BROWSER_RESULT {json}`
// line for the caller to check against Sluice's API, and exits non-zero on failure.
//
// Environment: SLUICE_API (Sluice's base URL), SLUICE_TOKEN (an upload token),
// BROWSER_FILES (JSON list of {name, type, size, seed, declareSize}), UPPY_MAJOR (6, the
// default, or 5: which bundle of build.mjs the page loads).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const api = process.env.SLUICE_API
const token = process.env.SLUICE_TOKEN
const files = JSON.parse(process.env.BROWSER_FILES ?? '[]')
if (!api || !token || files.length === 0) {
  console.error('browser test: SLUICE_API, SLUICE_TOKEN and BROWSER_FILES are required')
  process.exit(2)
}
const major = process.env.UPPY_MAJOR ?? '6'
const bundle = readFileSync(new URL(`./dist/page${major}.js`, import.meta.url), 'utf8')
const html = '<!doctype html><meta charset="utf-8"><title>Sluice + Uppy</title>' +
  '<script src="/__browser_test__/page.js"></script><body>Uppy test page</body>'

const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'))
const timer = setTimeout(() => {
  console.error('browser test: timed out after 90 s')
  process.exit(1)
}, 90_000)
let context
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    // The page is answered by the browser itself, so Chromium cannot place it in the
    // loopback address space and would ask the user before it reaches the store on
    // 127.0.0.1 (Local Network Access); a real deployment's page and bucket are public.
    permissions: ['local-network-access'],
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  })
  await context.route(`${api}/__browser_test__/**`, (route) => {
    const path = new URL(route.request().url()).pathname
    if (path.endsWith('/page.js')) {
      return route.fulfill({ contentType: 'text/javascript', body: bundle })
    }
    return route.fulfill({ contentType: 'text/html', body: html })
  })
  const page = context.pages()[0] ?? (await context.newPage())
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning') console.error(`page ${msg.type()}: ${msg.text()}`)
  })
  page.on('pageerror', (err) => console.error(`page error: ${err.message}`))
  await page.goto(`${api}/__browser_test__/index.html`)
  const result = await page.evaluate((args) => window.runUppy(args), { token, files })
  console.log(`BROWSER_RESULT ${JSON.stringify(result)}`)
  const ok = result.failed.length === 0 && result.successful.length === files.length &&
    result.completed.every((c) => c.status === 200)
  process.exitCode = ok ? 0 : 1
} catch (err) {
  console.error(`browser test: ${err.stack ?? err}`)
  process.exitCode = 1
} finally {
  clearTimeout(timer)
  await context?.close().catch(() => {})
  rmSync(profile, { recursive: true, force: true })
}
