// The batch benchmark's client (bench/batch.sh starts the server): FILES small files
// through the TypeScript helper, first with `uploadBatch` (one batch request per 1,000
// files, PARALLEL files in flight), then the same number with one `Upload` per file (one
// create each, PARALLEL at a time). Prints one JSON line per mode.
import { Upload, createSluiceClient, limiter, memoryResumeStore, uploadBatch } from "../client/dist/src/index.js";

const api = process.env.SLUICE_API;
const token = process.env.SLUICE_BENCH_TOKEN;
const count = Number(process.env.FILES ?? 10000);
const parallel = Number(process.env.PARALLEL ?? 16);
const client = createSluiceClient({ baseUrl: api, token });

function files(prefix) {
  return Array.from({ length: count }, (_, i) => new File([`${prefix} file ${i} `.padEnd(1024, "x")], `${prefix}-${i}.txt`, { type: "text/plain" }));
}

async function batchMode() {
  const chosen = files("batch");
  const started = performance.now();
  let created = 0;
  let createdAt = 0;
  const { outcomes } = await uploadBatch({
    client,
    files: chosen,
    parallel,
    resumeStore: memoryResumeStore(),
    onUpload: () => {
      created += 1;
      if (created === 1) createdAt = performance.now();
    },
  });
  const done = performance.now();
  const uploaded = outcomes.filter((o) => o.session?.state === "uploaded").length;
  return { mode: "batch", files: count, uploaded, create_s: (createdAt - started) / 1000, sessions_per_s: Math.round(count / ((createdAt - started) / 1000)), wall_s: (done - started) / 1000 };
}

async function singleMode() {
  const chosen = files("single");
  const run = limiter(parallel);
  const started = performance.now();
  const createTimes = [];
  const sessions = await Promise.all(
    chosen.map((file) =>
      run(async () => {
        const upload = new Upload({ client, file, resumeStore: memoryResumeStore(), onSession: () => createTimes.push(performance.now()) });
        return upload.start().then(() => upload.settled());
      }),
    ),
  );
  const done = performance.now();
  const uploaded = sessions.filter((s) => s.state === "uploaded").length;
  // Creates interleave with uploads here; the create-only rate is measured apart below.
  return { mode: "one create per file", files: count, uploaded, wall_s: (done - started) / 1000 };
}

async function createsAlone() {
  // Sessions per second of creates alone, one request each, PARALLEL in flight.
  const run = limiter(parallel);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      run(async () => {
        const r = await client.POST("/v1/uploads", { body: { filename: `alone-${i}.txt`, size: 1024, content_type: "text/plain" } });
        if (!r.data) throw new Error(`create ${r.response.status}`);
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  return { mode: "creates alone, one request each", files: count, sessions_per_s: Math.round(count / seconds), create_s: seconds };
}

async function batchesAlone() {
  const started = performance.now();
  for (let start = 0; start < count; start += 1000) {
    const items = Array.from({ length: Math.min(1000, count - start) }, (_, i) => ({ filename: `b-${start + i}.txt`, size: 1024, content_type: "text/plain" }));
    const r = await client.POST("/v1/uploads/batch", { body: { items } });
    if (!r.data) throw new Error(`batch ${r.response.status}`);
  }
  const seconds = (performance.now() - started) / 1000;
  return { mode: "batch creates alone, 1,000 a request", files: count, sessions_per_s: Math.round(count / seconds), create_s: seconds };
}

for (const mode of [batchesAlone, createsAlone, batchMode, singleMode]) {
  console.log(JSON.stringify(await mode()));
}
