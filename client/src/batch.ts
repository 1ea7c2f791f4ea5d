/**
 * Many files at once: one `POST /v1/uploads/batch` per `maxItems` files creates their
 * sessions (one request and one transaction at Sluice, instead of one create per file),
 * then each file is sent by its own `Upload`, a bounded number at a time.
 *
 * Invariants: a file Sluice refused gets its `SluiceError` and no upload; a file whose
 * session is remembered by the resume store is not created again (its `Upload` resumes
 * it); at most `parallel` files are in flight, each with its own part parallelism.
 */
import type { CreatedUpload, Schemas, Session, SluiceClient } from "./index.js";
import { SluiceError, type SluiceErrorCode, unwrap } from "./errors.js";
import { type ResumeStore, browserResumeStore, memoryResumeStore, resumeKeyOf } from "./resume.js";
import { Upload, type UploadOptions } from "./upload.js";

export interface BatchOptions {
  client: SluiceClient;
  files: readonly Blob[];
  /** Upload profile of every file; default `default`. */
  profile?: string;
  metadata?: Record<string, string>;
  /** Items per batch request: Sluice's `batch.max_items` (default 1000). */
  maxItems?: number;
  resumeStore?: ResumeStore;
}

/** One file of a batch, once Sluice answered for it. */
export interface BatchSlot {
  file: Blob;
  /** The session created for it (absent when refused, or when a remembered one resumes). */
  created?: CreatedUpload;
  /** Why Sluice refused it. */
  error?: SluiceError;
}

export interface CreatedBatches {
  /** The batches created (one per `maxItems` files with at least one session). */
  batchIds: string[];
  slots: BatchSlot[];
}

function nameOf(file: Blob): string {
  return (file as Partial<File>).name ?? "file";
}

/** Creates the sessions of `files` with as few batch requests as `maxItems` allows. */
export async function createBatches(options: BatchOptions): Promise<CreatedBatches> {
  const store = options.resumeStore ?? defaultStore();
  const profile = options.profile ?? "default";
  const slots: BatchSlot[] = options.files.map((file) => ({ file }));
  const fresh = slots.filter((s) => store.get(resumeKeyOf(s.file, nameOf(s.file), profile)) === null);
  const batchIds: string[] = [];
  const max = Math.max(1, options.maxItems ?? 1000);
  for (let start = 0; start < fresh.length; start += max) {
    const chunk = fresh.slice(start, start + max);
    const answer = unwrap(
      await options.client.POST("/v1/uploads/batch", {
        body: {
          // The spec types items as plain objects (each is read and refused alone);
          // each is a `CreateUploadRequest`.
          items: chunk.map(
            (s): Schemas["CreateUploadRequest"] => ({
              profile,
              filename: nameOf(s.file),
              size: s.file.size,
              content_type: s.file.type,
              metadata: options.metadata,
            }),
          ) as never[],
        },
      }),
    );
    if (answer.batch_id) batchIds.push(answer.batch_id);
    for (const item of answer.items) {
      const slot = chunk[item.index];
      if (!slot) continue;
      if (item.upload) {
        slot.created = item.upload;
        store.set(resumeKeyOf(slot.file, nameOf(slot.file), profile), item.upload.id);
      } else if (item.error) {
        slot.error = new SluiceError(item.status, item.error.code as SluiceErrorCode, item.error.detail);
      }
    }
  }
  return { batchIds, slots };
}

/** What became of one file of `uploadBatch`. */
export interface BatchOutcome {
  file: Blob;
  session?: Session;
  error?: unknown;
}

export interface UploadBatchOptions extends BatchOptions {
  /** Files in flight at once; default 4. */
  parallel?: number;
  /** Options every file's `Upload` gets (transport, part parallelism, progress…). */
  upload?: Omit<UploadOptions, "client" | "file" | "profile" | "metadata" | "resumeStore" | "created">;
  /** Called with each file's `Upload` before it starts. */
  onUpload?: (upload: Upload, index: number) => void;
}

/** Creates the files' sessions in batches, then uploads them `parallel` at a time. */
export async function uploadBatch(options: UploadBatchOptions): Promise<{ batchIds: string[]; outcomes: BatchOutcome[] }> {
  const store = options.resumeStore ?? defaultStore();
  const { batchIds, slots } = await createBatches({ ...options, resumeStore: store });
  const run = limiter(options.parallel ?? 4);
  const outcomes = await Promise.all(
    slots.map((slot, index) => {
      if (slot.error) return Promise.resolve<BatchOutcome>({ file: slot.file, error: slot.error });
      return run(async (): Promise<BatchOutcome> => {
        const upload = new Upload({
          ...options.upload,
          client: options.client,
          file: slot.file,
          profile: options.profile,
          metadata: options.metadata,
          resumeStore: store,
          created: slot.created,
        });
        options.onUpload?.(upload, index);
        try {
          await upload.start();
          return { file: slot.file, session: await upload.settled() };
        } catch (error) {
          return { file: slot.file, error };
        }
      });
    }),
  );
  return { batchIds, outcomes };
}

/** Runs tasks at most `n` at a time, in the order they were handed in. */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  const next = () => {
    if (active >= n) return;
    const start = waiting.shift();
    if (start) {
      active += 1;
      start();
    }
  };
  return <T>(task: () => Promise<T>) =>
    new Promise<T>((resolve, reject) => {
      waiting.push(() => {
        task()
          .then(resolve, reject)
          .finally(() => {
            active -= 1;
            next();
          });
      });
      next();
    });
}

function defaultStore(): ResumeStore {
  return typeof globalThis.localStorage === "object" ? browserResumeStore() : memoryResumeStore();
}
