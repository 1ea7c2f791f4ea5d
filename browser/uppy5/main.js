// The page under test for the Uppy 5 line: `endpoint` plus `headers`, so the upload token
// travels as a bearer header (no cookie); `/s3/params` answers a POST policy, which Uppy 5
// sends as a form. Same contract as ../page/main.js: window.runUppy({token, files}).
import Uppy from '@uppy/core'
import AwsS3 from '@uppy/aws-s3'

const MIB = 1024 * 1024
const MULTIPART_ABOVE = 10 * MIB

// The same bytes as `sluice_tests::patterned(len, seed)`.
function patterned(len, seed) {
  const bytes = new Uint8Array(len)
  for (let i = 0; i < len; i++) bytes[i] = (i * 31 + (i >>> 20) + seed) & 255
  return bytes
}

window.runUppy = async ({ token, files }) => {
  const authorization = `Bearer ${token}`
  const multipart = (file) => file.size > MULTIPART_ABOVE
  const uppy = new Uppy({ autoProceed: false })
  uppy.use(AwsS3, {
    endpoint: window.location.origin,
    headers: { authorization },
    shouldUseMultipart: multipart,
  })
  const completions = []
  uppy.on('upload-success', (file, response) => {
    if (multipart(file)) return
    const key = response.body.key
    completions.push(
      fetch(`/s3/params/complete?key=${encodeURIComponent(key)}`, {
        method: 'POST',
        headers: { authorization },
      }).then(async (r) => ({ name: file.name, status: r.status, body: await r.json() })),
    )
  })
  for (const f of files) {
    uppy.addFile({
      name: f.name,
      type: f.type,
      data: new Blob([patterned(f.size, f.seed)], { type: f.type }),
      meta: f.declareSize ? { size: f.size } : {},
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
