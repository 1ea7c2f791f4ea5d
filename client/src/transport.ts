/**
 * Moving bytes to the store on a presigned URL, with progress. Browsers get
 * `XMLHttpRequest` (the only browser API that reports upload progress); elsewhere `fetch`
 * reports progress once the request is done.
 *
 * Invariant: the headers Sluice signed are sent exactly, except `content-length`, which
 * browsers forbid a script to set and compute themselves from the body (the store still
 * checks it against the signature).
 */

/** What the store answered to a PUT. */
export interface PutResult {
  /** The part's or object's ETag, where the store's CORS rules expose it. */
  etag: string | undefined;
}

/** Sends one presigned PUT. `onProgress` gets the bytes sent so far. */
export type Transport = (
  url: string,
  headers: Record<string, string>,
  body: Blob,
  onProgress: (sent: number) => void,
  signal: AbortSignal,
) => Promise<PutResult>;

/** Raised when the store refuses a PUT; `status` is the store's. */
export class StoreRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`the store refused the upload (HTTP ${status})`);
    this.name = "StoreRefused";
  }
}

/** Raised when a PUT was cancelled by `pause()` or `abort()`. */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "Cancelled";
  }
}

function sendable(headers: Record<string, string>): [string, string][] {
  return Object.entries(headers).filter(([name]) => name.toLowerCase() !== "content-length");
}

/** `fetch`: progress is reported when the request completes. */
export const fetchTransport: Transport = async (url, headers, body, onProgress, signal) => {
  let response: Response;
  try {
    response = await fetch(url, { method: "PUT", headers: sendable(headers), body, signal });
  } catch (error) {
    if (signal.aborted) throw new Cancelled();
    throw error;
  }
  if (!response.ok) throw new StoreRefused(response.status, await response.text());
  onProgress(body.size);
  return { etag: response.headers.get("etag") ?? undefined };
};

/** `XMLHttpRequest`: progress as the bytes go out. */
export const xhrTransport: Transport = (url, headers, body, onProgress, signal) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [name, value] of sendable(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => onProgress(event.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(body.size);
        resolve({ etag: xhr.getResponseHeader("etag") ?? undefined });
      } else {
        reject(new StoreRefused(xhr.status, xhr.responseText));
      }
    };
    xhr.onerror = () => reject(new StoreRefused(0, "network error"));
    xhr.onabort = () => reject(new Cancelled());
    signal.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(body);
  });

/** The transport of this environment. */
export function defaultTransport(): Transport {
  return typeof XMLHttpRequest === "function" ? xhrTransport : fetchTransport;
}
