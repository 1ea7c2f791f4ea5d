/**
 * The upload helper: one file to one Sluice session, by a single presigned PUT or by
 * multipart with parallel parts, with progress, pause, resume (also after a reload, from
 * the session id kept in a `ResumeStore`) and abort.
 *
 * Invariants: bytes go only to the store's presigned URLs, never to Sluice; part URLs are
 * asked for lazily, one part at a time, and again when one expired; on resume the parts
 * the store already holds (listed by Sluice) are never sent twice; a session that ended
 * (rejected, expired, aborted) is forgotten and a new one is created.
 */
import { SluiceError, type SluiceErrorCode, unwrap } from "./errors.js";
import type { CreatedUpload, Session, SluiceClient } from "./index.js";
import { type Cut, lengthOf, partNumbers, rangeOf } from "./parts.js";
import {
  type ResumeStore,
  browserResumeStore,
  memoryResumeStore,
  resumeKeyOf,
} from "./resume.js";
import { Cancelled, StoreRefused, type Transport, defaultTransport } from "./transport.js";

export { type ResumeStore, browserResumeStore, memoryResumeStore } from "./resume.js";
export { Cancelled, StoreRefused, type Transport, fetchTransport, xhrTransport } from "./transport.js";

export interface UploadProgress {
  /** Bytes the store holds or is receiving. */
  uploaded: number;
  total: number;
}

export interface UploadOptions {
  client: SluiceClient;
  file: Blob;
  /** Default: the `File`'s name. */
  filename?: string;
  /** Upload profile; default `default`. */
  profile?: string;
  /** Default: the `File`'s type; empty lets Sluice guess it from the filename. */
  contentType?: string;
  metadata?: Record<string, string>;
  /** Lower-case hex SHA-256 of the content, if known. */
  sha256?: string;
  /** Parts in flight at once; default 4. */
  parallel?: number;
  /** Compute each part's SHA-256 with Web Crypto while reading it and send it when the
   * part is signed (where the store checks checksums its URL signs the digest, and the
   * store refuses other bytes) and at completion. Default true where `crypto.subtle`
   * exists. */
  partChecksums?: boolean;
  /** Where the session id is kept for resuming; default `localStorage` in browsers. */
  resumeStore?: ResumeStore;
  /** Default: derived from the file's name, size, type and modification time. */
  resumeKey?: string;
  transport?: Transport;
  onProgress?: (progress: UploadProgress) => void;
  /** Called once the session is known (created or resumed). */
  onSession?: (session: Session) => void;
  /** With no local record of this file's session, look for a pending multipart session
   * of the same owner, profile, name and size (and `sha256`, when given) started
   * elsewhere (another device, a cleared browser), and go on with it: the parts the
   * store holds whose sizes fit the cut are not sent again. Default: true when `sha256`
   * is given, false otherwise (name and size alone cannot tell two files apart, and a
   * part of another file would then be assembled into this one). */
  resumeElsewhere?: boolean;
  /** A session already created for this file (by `createBatches`): used instead of
   * creating one, the first time the upload starts. */
  created?: CreatedUpload;
}

/** States in which the session can still become a file. */
const LIVE = new Set(["pending", "verifying", "scanning", "uploaded"]);

/** States a job moves on from by itself: a verification the store delayed, or the
 * malware scan of a profile that scans. */
const WAITING = new Set(["verifying", "scanning"]);

export class Upload {
  readonly #options: UploadOptions;
  readonly #store: ResumeStore;
  readonly #key: string;
  readonly #transport: Transport;
  #controller: AbortController | null = null;
  #running: Promise<Session> | null = null;
  #session: Session | null = null;
  /** Bytes sent per part number (finished parts hold their whole length). */
  readonly #sent = new Map<number, number>();
  /** ETags of finished parts, where the store exposed them. */
  readonly #etags = new Map<number, string | undefined>();
  /** Lower-case hex SHA-256 of the parts this helper read and sent. */
  readonly #digests = new Map<number, string>();
  /** A session created for this file elsewhere, until the first start takes it. */
  #created: CreatedUpload | undefined;

  constructor(options: UploadOptions) {
    this.#options = options;
    this.#store =
      options.resumeStore ??
      (typeof globalThis.localStorage === "object" ? browserResumeStore() : memoryResumeStore());
    this.#key = options.resumeKey ?? resumeKeyOf(options.file, this.filename, this.profile);
    this.#transport = options.transport ?? defaultTransport();
    this.#created = options.created;
  }

  get filename(): string {
    const name = (this.#options.file as Partial<File>).name;
    return this.#options.filename ?? name ?? "file";
  }

  get profile(): string {
    return this.#options.profile ?? "default";
  }

  /** The session, once known. */
  get session(): Session | null {
    return this.#session;
  }

  /** Uploads (or goes on uploading) and completes; resolves with the verified session
   * (`uploaded`, or `verifying` when the store could not be asked yet). Rejects with
   * `Cancelled` after `pause()` or `abort()`, `SluiceError` when Sluice refuses. */
  start(): Promise<Session> {
    if (this.#running) return this.#running;
    this.#controller = new AbortController();
    const signal = this.#controller.signal;
    this.#running = this.#run(signal).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Waits while the session is `verifying` or `scanning` (polling every `intervalMs`,
   * 1 s by default; `onState` hears each state seen) and resolves with the session once
   * a job moved it on. A session the scanner or verification rejected rejects with a
   * `SluiceError` carrying its code (`malware_detected`, `too_large_to_scan`, …). */
  async settled(options: { intervalMs?: number; signal?: AbortSignal; onState?: (state: string) => void } = {}): Promise<Session> {
    let session = this.#session;
    if (!session) throw new SluiceError(0, "internal_error", "no session to wait for: call start() first");
    const interval = options.intervalMs ?? 1000;
    while (WAITING.has(session.state)) {
      options.onState?.(session.state);
      await new Promise((done) => setTimeout(done, interval));
      if (options.signal?.aborted) throw new Cancelled();
      session = unwrap(await this.#options.client.GET("/v1/uploads/{id}", { params: { path: { id: session.id } } }));
      this.#session = session;
    }
    this.#finish(session);
    if (session.state === "rejected") {
      const code = (session.failure ?? "validation_failed") as SluiceErrorCode;
      throw new SluiceError(422, code, refusal(code));
    }
    return session;
  }

  /** Stops sending; the session stays pending and `resume()` goes on. */
  pause(): void {
    this.#controller?.abort();
  }

  /** Goes on after `pause()`, a failure, or (with a new `Upload` of the same file) a reload. */
  resume(): Promise<Session> {
    return this.start();
  }

  /** Stops sending and aborts the session at Sluice (the store is cleaned). */
  async abort(): Promise<Session | null> {
    this.pause();
    await this.#running?.catch(() => undefined);
    const id = this.#session?.id ?? this.#store.get(this.#key);
    this.#store.remove(this.#key);
    if (!id) return null;
    const result = await this.#options.client.POST("/v1/uploads/{id}/abort", {
      params: { path: { id } },
    });
    this.#session = unwrap(result);
    return this.#session;
  }

  async #run(signal: AbortSignal): Promise<Session> {
    const { session, put } = await this.#open();
    this.#session = session;
    this.#options.onSession?.(session);
    if (session.state !== "pending") return this.#finish(await this.#complete(session.id));
    if (session.method === "multipart") {
      await this.#sendParts(session, signal);
    } else if (put) {
      await this.#sendWhole(put, signal);
    } else if (!(await this.#alreadyStored(session.id))) {
      // A resumed single-PUT session: its URL was not kept, so start afresh.
      await this.#options.client.POST("/v1/uploads/{id}/abort", { params: { path: { id: session.id } } });
      this.#store.remove(this.#key);
      return this.#run(signal);
    }
    return this.#finish(await this.#complete(session.id));
  }

  /** The remembered live session, or a new one. */
  async #open(): Promise<{ session: Session; put?: { url: string; headers: Record<string, string> } }> {
    const client = this.#options.client;
    const given = this.#created;
    if (given) {
      // Created by a batch: its PUT URL is only in that answer, so it is used now.
      this.#created = undefined;
      this.#store.set(this.#key, given.id);
      const session = unwrap(await client.GET("/v1/uploads/{id}", { params: { path: { id: given.id } } }));
      return { session, put: given.put ?? undefined };
    }
    const remembered = this.#store.get(this.#key);
    if (remembered) {
      // `parts: true`: the parts the store already holds, to resume (one store request).
      const found = await client.GET("/v1/uploads/{id}", {
        params: { path: { id: remembered }, query: { parts: true } },
      });
      if (found.data && LIVE.has(found.data.state)) return { session: found.data };
      this.#store.remove(this.#key);
    }
    const o = this.#options;
    if (o.resumeElsewhere ?? o.sha256 !== undefined) {
      const found = await this.#startedElsewhere();
      if (found) {
        this.#store.set(this.#key, found.id);
        return { session: found };
      }
    }
    const created = unwrap(
      await client.POST("/v1/uploads", {
        body: {
          profile: this.profile,
          filename: this.filename,
          size: o.file.size,
          content_type: o.contentType ?? o.file.type,
          metadata: o.metadata,
          sha256: o.sha256,
        },
      }),
    );
    this.#store.set(this.#key, created.id);
    this.#sent.clear();
    this.#etags.clear();
    this.#digests.clear();
    const session = unwrap(await client.GET("/v1/uploads/{id}", { params: { path: { id: created.id } } }));
    return { session, put: created.put ?? undefined };
  }

  /** The newest pending multipart session of this file started elsewhere, with the
   * parts the store holds, or undefined. A single-PUT session is never taken: its URL is
   * known only to the client that created it. */
  async #startedElsewhere(): Promise<Session | undefined> {
    const o = this.#options;
    const page = await o.client.GET("/v1/uploads", {
      params: {
        query: { state: "pending", filename: this.filename, size: o.file.size, sha256: o.sha256, limit: 20 },
      },
    });
    const match = page.data?.items.find((s) => s.method === "multipart" && s.profile === this.profile);
    if (!match) return undefined;
    const full = await o.client.GET("/v1/uploads/{id}", {
      params: { path: { id: match.id }, query: { parts: true } },
    });
    return full.data?.state === "pending" ? full.data : undefined;
  }

  async #sendWhole(put: { url: string; headers: Record<string, string> }, signal: AbortSignal): Promise<void> {
    const file = this.#options.file;
    try {
      await this.#transport(put.url, put.headers, file, (sent) => this.#progress(1, sent), signal);
    } catch (error) {
      // A one-time URL refuses a second write: the first one landed (a retry after a
      // lost answer), and completion checks it.
      if (!(error instanceof StoreRefused && error.status === 412)) throw error;
    }
    this.#progress(1, file.size);
  }

  async #sendParts(session: Session, signal: AbortSignal): Promise<void> {
    const plan = session.multipart;
    if (!plan) throw new SluiceError(0, "internal_error", "a multipart session without its cut");
    const cut: Cut = { size: session.size, partSize: plan.part_size, partCount: plan.part_count };
    for (const stored of session.uploaded_parts ?? []) {
      if (stored.size === lengthOf(cut, stored.part_number)) {
        this.#sent.set(stored.part_number, stored.size);
        this.#etags.set(stored.part_number, stored.etag ?? undefined);
      }
    }
    this.#report();
    const todo = partNumbers(cut).filter((n) => !this.#etags.has(n));
    const workers = Math.max(1, Math.min(this.#options.parallel ?? 4, todo.length));
    await Promise.all(
      Array.from({ length: workers }, async () => {
        for (let n = todo.shift(); n !== undefined; n = todo.shift()) {
          if (signal.aborted) throw new Cancelled();
          await this.#sendPart(session.id, cut, n, signal);
        }
      }),
    );
  }

  async #sendPart(id: string, cut: Cut, n: number, signal: AbortSignal): Promise<void> {
    const [start, end] = rangeOf(cut, n);
    const body = this.#options.file.slice(start, end);
    const sha256 = await this.#digestOf(n, body);
    for (let attempt = 1; ; attempt++) {
      const signed = unwrap(
        await this.#options.client.POST("/v1/uploads/{id}/parts", {
          params: { path: { id } },
          body: {
            part_numbers: [n],
            part_checksums: sha256 === undefined ? [] : [{ part_number: n, sha256 }],
          },
        }),
      ).parts[0];
      if (!signed) throw new SluiceError(0, "internal_error", `part ${n} was not signed`);
      try {
        const { etag } = await this.#transport(signed.url, signed.headers, body, (sent) => this.#progress(n, sent), signal);
        this.#etags.set(n, etag);
        this.#progress(n, body.size);
        return;
      } catch (error) {
        // An expired URL (403) or a dropped connection: sign again, twice at most.
        if (error instanceof Cancelled || attempt >= 3) throw error;
        this.#progress(n, 0);
      }
    }
  }

  /** The part's SHA-256 (hex), computed once, where Web Crypto is available and wanted. */
  async #digestOf(n: number, body: Blob): Promise<string | undefined> {
    const known = this.#digests.get(n);
    if (known !== undefined) return known;
    const subtle = globalThis.crypto?.subtle;
    if (this.#options.partChecksums === false || subtle === undefined) return undefined;
    const digest = new Uint8Array(await subtle.digest("SHA-256", await body.arrayBuffer()));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    this.#digests.set(n, hex);
    return hex;
  }

  /** Whether the bytes of a resumed single-PUT session already reached the store. */
  async #alreadyStored(id: string): Promise<boolean> {
    const result = await this.#options.client.POST("/v1/uploads/{id}/complete", { params: { path: { id } } });
    return result.data !== undefined;
  }

  async #complete(id: string): Promise<Session> {
    const parts = [...this.#etags]
      .filter((entry): entry is [number, string] => entry[1] !== undefined)
      .map(([part_number, etag]) => ({ part_number, etag, sha256: this.#digests.get(part_number) }))
      .sort((a, b) => a.part_number - b.part_number);
    const result = await this.#options.client.POST("/v1/uploads/{id}/complete", {
      params: { path: { id } },
      body: parts.length > 0 ? { parts } : undefined,
    });
    if (result.error !== undefined) {
      const error = SluiceError.from(result.response, result.error);
      // Rejected for good: the session ended, so the next try starts afresh.
      if (result.response.status === 422) this.#store.remove(this.#key);
      throw error;
    }
    return unwrap(result);
  }

  #finish(session: Session): Session {
    this.#session = session;
    if (!WAITING.has(session.state)) this.#store.remove(this.#key);
    return session;
  }

  #progress(part: number, sent: number): void {
    this.#sent.set(part, sent);
    this.#report();
  }

  #report(): void {
    let uploaded = 0;
    for (const sent of this.#sent.values()) uploaded += sent;
    this.#options.onProgress?.({ uploaded, total: this.#options.file.size });
  }
}

/** A rejection in words, for a session that ended `rejected` after completion. */
function refusal(code: SluiceErrorCode): string {
  switch (code) {
    case "malware_detected":
      return "the malware scanner found something in the file";
    case "too_large_to_scan":
      return "the file is larger than the malware scanner reads";
    default:
      return `the stored file failed a check (${code})`;
  }
}
