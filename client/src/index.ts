/**
 * The Sluice client: typed calls to every route of `openapi/openapi.json` (the types in
 * `schema.d.ts` are generated from it and checked in CI), plus the upload helper.
 *
 * Invariant: nothing here is written by hand that the spec already says; only
 * authentication, error decoding and the upload helper (`upload.ts`) are.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];
export type Session = Schemas["SessionResponse"];
export type CreatedUpload = Schemas["CreateUploadResponse"];
export type FileInfo = Schemas["FileResponse"];
export type Problem = Schemas["Problem"];
export type ErrorCode = Schemas["ErrorCode"];

/** A typed client of the whole API (`client.GET("/v1/uploads/{id}", …)`). */
export type SluiceClient = Client<paths>;

/** A bearer credential, or a function that returns a fresh one for each request. */
export type TokenSource = string | (() => string | Promise<string>);

export interface SluiceOptions {
  /** Sluice's base URL, e.g. `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** An upload token (minted by your backend) or a service/admin key. */
  token?: TokenSource;
  /** Extra headers on every request, e.g. `X-Sluice-Owner` with a service key. */
  headers?: Record<string, string>;
  /** A custom fetch (tests, proxies). */
  fetch?: typeof globalThis.fetch;
}

/** Creates a typed client that authenticates every request. */
export function createSluiceClient(options: SluiceOptions): SluiceClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    headers: options.headers,
    fetch: options.fetch,
  });
  const token = options.token;
  if (token !== undefined) {
    const auth: Middleware = {
      async onRequest({ request }) {
        const value = typeof token === "function" ? await token() : token;
        request.headers.set("Authorization", `Bearer ${value}`);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}

export { SluiceError, unwrap } from "./errors.js";
export type { SluiceErrorCode } from "./errors.js";
export {
  Upload,
  type UploadOptions,
  type UploadProgress,
  type ResumeStore,
  type Transport,
  Cancelled,
  StoreRefused,
  fetchTransport,
  xhrTransport,
  memoryResumeStore,
  browserResumeStore,
} from "./upload.js";
export {
  type BatchOptions,
  type BatchOutcome,
  type BatchSlot,
  type CreatedBatches,
  type UploadBatchOptions,
  createBatches,
  limiter,
  uploadBatch,
} from "./batch.js";
