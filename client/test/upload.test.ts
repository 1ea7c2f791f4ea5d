/**
 * The upload helper against a real Sluice (embedded stack): single PUT, multipart with
 * progress, pause and resume, resume by a new `Upload` after a "reload", abort, refusals.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  Cancelled,
  SluiceError,
  type Transport,
  Upload,
  createSluiceClient,
  fetchTransport,
  memoryResumeStore,
  unwrap,
  uploadBatch,
} from "../src/index.js";
import { type Running, startSluice } from "./server.js";

const MiB = 1024 * 1024;

/** `n` bytes of a pattern that differs per offset, so a misplaced part shows. */
function bytes(n: number, seed = 7): Blob {
  const buffer = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    buffer[i] = x >>> 24;
  }
  return new Blob([buffer], { type: "application/octet-stream" });
}

/** A transport that counts PUTs and can run a hook after each. */
function counting(afterEach?: (count: number) => void): { transport: Transport; puts: () => number } {
  let puts = 0;
  const transport: Transport = async (...args) => {
    const result = await fetchTransport(...args);
    puts += 1;
    afterEach?.(puts);
    return result;
  };
  return { transport, puts: () => puts };
}

let sluice: Running;

before(async () => {
  sluice = await startSluice({
    SLUICE__PROFILES__DEFAULT__MULTIPART_THRESHOLD: "5MiB",
    SLUICE__PROFILES__DEFAULT__PART_SIZE: "5MiB",
    SLUICE__PROFILES__TINY__MAX_SIZE: "1KiB",
    SLUICE__PROFILES__HASHED__MULTIPART_THRESHOLD: "5MiB",
    SLUICE__PROFILES__HASHED__PART_SIZE: "5MiB",
    SLUICE__PROFILES__HASHED__REHASH: "true",
  });
});

after(async () => {
  await sluice?.stop();
});

function client(sub = "alice") {
  return createSluiceClient({ baseUrl: sluice.baseUrl, token: sluice.token(sub) });
}

describe("Upload", () => {
  it("sends a small file in one PUT, and it downloads by its original name", async () => {
    const api = client();
    const file = bytes(4096);
    const upload = new Upload({ client: api, file, filename: "résumé 2026.bin", resumeStore: memoryResumeStore() });
    const session = await upload.start();
    assert.equal(session.state, "uploaded");
    assert.equal(session.method, "put");
    assert.equal(session.size, 4096);

    const committed = unwrap(await api.POST("/v1/uploads/{id}/commit", { params: { path: { id: session.id } } }));
    const link = unwrap(
      await api.POST("/v1/files/{id}/download-url", { params: { path: { id: committed.id } }, body: {} }),
    );
    const download = await fetch(link.url);
    assert.equal(download.status, 200);
    assert.match(download.headers.get("content-disposition") ?? "", /filename\*=UTF-8''r%C3%A9sum%C3%A9%202026\.bin/);
    assert.deepEqual(new Uint8Array(await download.arrayBuffer()), new Uint8Array(await file.arrayBuffer()));
  });

  it("sends a large file in parallel parts and reports progress up to its size", async () => {
    const file = bytes(12 * MiB + 123);
    const seen: number[] = [];
    const { transport, puts } = counting();
    const upload = new Upload({
      client: client(),
      file,
      filename: "big.bin",
      parallel: 3,
      transport,
      resumeStore: memoryResumeStore(),
      onProgress: ({ uploaded, total }) => {
        assert.equal(total, file.size);
        seen.push(uploaded);
      },
    });
    const session = await upload.start();
    assert.equal(session.state, "uploaded");
    assert.equal(session.method, "multipart");
    assert.equal(session.size, file.size);
    assert.equal(puts(), 3, "5 MiB + 5 MiB + the rest");
    assert.equal(seen.at(-1), file.size);
    assert.ok(seen.length >= 3, `progress reported ${seen.length} times`);
  });

  it("signs each part with the SHA-256 it computed, and waits while a worker proves the whole", async () => {
    const file = bytes(11 * MiB, 9);
    const whole = new Uint8Array(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
    const sha256 = Array.from(whole, (b) => b.toString(16).padStart(2, "0")).join("");
    const signed: string[] = [];
    const transport: Transport = async (url, headers, body, onProgress, signal) => {
      signed.push(headers["x-amz-checksum-sha256"] ?? "");
      return fetchTransport(url, headers, body, onProgress, signal);
    };
    const states: string[] = [];
    const upload = new Upload({
      client: client(),
      file,
      filename: "proven.bin",
      profile: "hashed",
      sha256,
      transport,
      resumeStore: memoryResumeStore(),
    });
    const completed = await upload.start();
    assert.equal(completed.state, "scanning", "a worker reads the object back first");
    const session = await upload.settled({ intervalMs: 100, onState: (s) => states.push(s) });
    assert.equal(session.state, "uploaded");
    assert.equal(session.checksum_verified, true);
    assert.ok(states.includes("scanning"), states.join(","));
    // The embedded store checks checksums, so every part URL signed its digest.
    assert.equal(signed.length, 3);
    for (const digest of signed) assert.match(digest, /^[A-Za-z0-9+/]{43}=$/);
  });

  it("pauses between parts and resumes the same session without resending a part", async () => {
    const file = bytes(11 * MiB, 3);
    let upload: Upload | undefined;
    const { transport, puts } = counting((n) => n === 1 && upload?.pause());
    upload = new Upload({ client: client(), file, filename: "paused.bin", parallel: 1, transport, resumeStore: memoryResumeStore() });
    await assert.rejects(upload.start(), Cancelled);
    const paused = upload.session;
    assert.equal(paused?.state, "pending");
    const session = await upload.resume();
    assert.equal(session.id, paused?.id);
    assert.equal(session.state, "uploaded");
    assert.equal(puts(), 3, "every part sent once");
  });

  it("resumes after a reload from the kept session id, sending only the missing parts", async () => {
    const file = bytes(11 * MiB, 5);
    const kept = memoryResumeStore();
    let first: Upload | undefined;
    const before = counting((n) => n === 1 && first?.pause());
    first = new Upload({ client: client(), file, filename: "reload.bin", parallel: 1, transport: before.transport, resumeStore: kept });
    await assert.rejects(first.start(), Cancelled);
    const id = first.session?.id;
    assert.ok(id);

    // The page reloads: a new Upload knows nothing but what the resume store kept.
    const afterReload = counting();
    const second = new Upload({ client: client(), file, filename: "reload.bin", transport: afterReload.transport, resumeStore: kept });
    const session = await second.start();
    assert.equal(session.id, id, "the same session");
    assert.equal(session.state, "uploaded");
    assert.equal(afterReload.puts(), 2, "the part the store held was not sent again");
  });

  it("goes on from another device with no local record, sending only the missing parts", async () => {
    const file = bytes(11 * MiB, 6);
    let laptop: Upload | undefined;
    const before = counting((n) => n === 1 && laptop?.pause());
    laptop = new Upload({
      client: client("traveller"),
      file,
      filename: "trip.mov",
      parallel: 1,
      transport: before.transport,
      resumeStore: memoryResumeStore(),
    });
    await assert.rejects(laptop.start(), Cancelled);
    const id = laptop.session?.id;
    assert.ok(id);

    // Without opting in (and with no digest), another device starts afresh.
    const cautious = new Upload({ client: client("traveller"), file, filename: "trip.mov", resumeStore: memoryResumeStore() });
    // The phone: its own resume store is empty; it asks Sluice for the session.
    const after = counting();
    const phone = new Upload({
      client: client("traveller"),
      file,
      filename: "trip.mov",
      transport: after.transport,
      resumeStore: memoryResumeStore(),
      resumeElsewhere: true,
    });
    const session = await phone.start();
    assert.equal(session.id, id, "the session started on the laptop");
    assert.equal(session.state, "uploaded");
    assert.equal(after.puts(), 2, "the part the store held was not sent again");
    const fresh = await cautious.start();
    assert.notEqual(fresh.id, id);
  });

  it("aborts: the session ends and is forgotten", async () => {
    const file = bytes(11 * MiB, 9);
    const kept = memoryResumeStore();
    let upload: Upload | undefined;
    const { transport } = counting((n) => n === 1 && upload?.pause());
    upload = new Upload({ client: client(), file, filename: "gone.bin", parallel: 1, transport, resumeStore: kept, resumeKey: "gone" });
    await assert.rejects(upload.start(), Cancelled);
    const ended = await upload.abort();
    assert.equal(ended?.state, "aborted");
    assert.equal(kept.get("gone"), null);
  });

  it("raises Sluice's refusal with its stable code", async () => {
    const upload = new Upload({ client: client(), file: bytes(2048), filename: "a.bin", profile: "tiny", resumeStore: memoryResumeStore() });
    await assert.rejects(upload.start(), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.status, 413);
      assert.equal(error.code, "too_large");
      return true;
    });
  });

  it("keeps owners apart: another owner's session is not found", async () => {
    const session = await new Upload({ client: client("carol"), file: bytes(10), filename: "c.txt", resumeStore: memoryResumeStore() }).start();
    const other = await client("mallory").GET("/v1/uploads/{id}", { params: { path: { id: session.id } } });
    assert.equal(other.response.status, 404);
    assert.equal((other.error as { code?: string }).code, "not_found");
  });
});

describe("uploadBatch", () => {
  it("creates the sessions with one batch request per 20 files and uploads them 4 at a time", async () => {
    const api = client("batcher");
    const files = Array.from(
      { length: 30 },
      (_, i) => new File([bytes(100 + i, i + 1)], `f${i}.bin`, { type: "application/octet-stream" }),
    );
    // The profile takes at most 1 KiB: this one is refused, alone.
    files.splice(7, 0, new File([bytes(2000)], "big.bin", { type: "application/octet-stream" }));
    let inFlight = 0;
    let most = 0;
    const transport: Transport = async (...args) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      try {
        return await fetchTransport(...args);
      } finally {
        inFlight -= 1;
      }
    };
    const { batchIds, outcomes } = await uploadBatch({
      client: api,
      files,
      profile: "tiny",
      parallel: 4,
      maxItems: 20,
      resumeStore: memoryResumeStore(),
      upload: { transport },
    });
    assert.equal(batchIds.length, 2);
    assert.equal(outcomes.length, 31);
    const refused = outcomes[7]?.error;
    assert.ok(refused instanceof SluiceError);
    assert.equal(refused.code, "too_large");
    const uploaded = outcomes.filter((o) => o.session?.state === "uploaded");
    assert.equal(uploaded.length, 30);
    assert.ok(most <= 4, `${most} files in flight`);
    for (const o of uploaded) assert.ok(o.session?.batch_id && batchIds.includes(o.session.batch_id));
    const first = unwrap(await api.GET("/v1/batches/{id}", { params: { path: { id: batchIds[0] ?? "" } } }));
    assert.equal(first.total, 19);
    assert.deepEqual(first.states, { uploaded: 19 });
    assert.equal(first.completed, true);
  });
});
