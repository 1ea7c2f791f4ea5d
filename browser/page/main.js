// The page under test: an application page served from Sluice's own origin that uploads
// with Uppy 6 in Companion mode. It exchanges its upload token for Sluice's session
// cookie (Uppy 6 sends no custom headers, only same-origin cookies), then lets Uppy
// upload: large files as multipart through /s3/multipart, small ones as a POST policy
// form from /s3/params, which the page then completes (Uppy calls nothing afterwards).
import Uppy from '@uppy/core'
import AwsS3 from '@uppy/aws-s3'

const MIB = 1024 * 1024
const MULTIPART_ABOVE = 10 * MIB

// The same bytes as `sluice_tests::patterned(len, seed)`, so the test can compare them.
function patterned(len, seed) {
  const bytes = new Uint8Array(len)
  for (let i = 0; i < len; i++) bytes[i] = (i * 31 + (i >>> 20) + seed) & 255
  return bytes
}

window.runUppy = async ({ token, files }) => {
  const session = await fetch('/v1/session', {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
  })
  if (session.status !== 204) throw new Error(`POST /v1/session answered ${session.status}`)

  const uppy = new Uppy({ autoProceed: false })
  uppy.use(AwsS3, {
    companionEndpoint: window.location.origin,
    shouldUseMultipart: (file) => file.size > MULTIPART_ABOVE,
  })
  const completions = []
  uppy.on('upload-success', (file, response) => {
    if (file.size > MULTIPART_ABOVE) return
    const key = response.body.key
    completions.push(
      fetch(`/s3/params/complete?key=${encodeURIComponent(key)}`, { method: 'POST' }).then(
        async (r) => ({ name: file.name, status: r.status, body: await r.json() }),
      ),
    )
  })
  for (const f of files) {
    const meta = f.declareSize ? { size: f.size } : {}
    uppy.addFile({
      name: f.name,
      type: f.type,
      data: new Blob([patterned(f.size, f.seed)], { type: f.type }),
      meta,
    })
  }
  const result = await uppy.upload()
  const completed = await Promise.all(completions)
  return {
    successful: (result?.successful ?? []).map((file) => ({
      name: file.name,
      size: file.size,
      key: file.response?.body?.key ?? null,
      uploadURL: file.response?.uploadURL ?? null,
    })),
    failed: (result?.failed ?? []).map((file) => ({ name: file.name, error: String(file.error) })),
    completed,
  }
}
