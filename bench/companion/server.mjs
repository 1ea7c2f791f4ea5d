// Uppy Companion (npm @uppy/companion) in an express app bound to 127.0.0.1 only, signing
// S3 multipart parts against the store of SLUICE_TEST_S3_* (bucket BENCH_BUCKET), so that
// bench/parts.sh can load its part-signing route beside Sluice's in the same run.
//   PORT=18799 BENCH_BUCKET=… node bench/companion/server.mjs
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import * as companion from '@uppy/companion'

const port = Number(process.env.PORT ?? 18799)
const { app: companionApp } = companion.app({
  s3: {
    key: process.env.SLUICE_TEST_S3_ACCESS_KEY_ID,
    secret: process.env.SLUICE_TEST_S3_SECRET_ACCESS_KEY,
    bucket: process.env.BENCH_BUCKET,
    region: process.env.SLUICE_TEST_S3_REGION ?? 'us-east-1',
    endpoint: process.env.SLUICE_TEST_S3_ENDPOINT,
    forcePathStyle: true,
  },
  server: { host: `127.0.0.1:${port}`, protocol: 'http' },
  filePath: mkdtempSync(join(tmpdir(), 'companion-')),
  secret: 'bench-companion-secret-0123456789',
  uploadUrls: ['http://127.0.0.1/'],
  corsOrigins: true,
  logClientVersion: false,
})
const app = express()
app.use(companionApp)
app.listen(port, '127.0.0.1', () => console.log(`companion listening on 127.0.0.1:${port}`))
