/**
 * Where an upload remembers its session id, so that a reload (or a new `Upload` of the
 * same file) finishes the session instead of starting over.
 *
 * Invariant: only session ids are kept, never tokens or URLs: a URL may have expired by
 * the time the page comes back, and Sluice signs new ones on demand.
 */

/** A small key-value store of session ids. */
export interface ResumeStore {
  get(key: string): string | null;
  set(key: string, sessionId: string): void;
  remove(key: string): void;
}

/** Kept in memory: lost with the page (tests, server-side use). */
export function memoryResumeStore(): ResumeStore {
  const ids = new Map<string, string>();
  return {
    get: (key) => ids.get(key) ?? null,
    set: (key, id) => void ids.set(key, id),
    remove: (key) => void ids.delete(key),
  };
}

/** Kept in `localStorage` under `sluice:upload:<key>`: survives reloads and restarts. */
export function browserResumeStore(storage: Storage = globalThis.localStorage): ResumeStore {
  const name = (key: string) => `sluice:upload:${key}`;
  return {
    get: (key) => storage.getItem(name(key)),
    set: (key, id) => storage.setItem(name(key), id),
    remove: (key) => storage.removeItem(name(key)),
  };
}

/** The default key of a file: its name, size, type and modification time. */
export function resumeKeyOf(file: Blob, filename: string, profile: string): string {
  const modified = "lastModified" in file ? String((file as File).lastModified) : "";
  return [profile, filename, file.size, file.type, modified].join("|");
}
