/**
 * A real Sluice for the client's tests: `target/debug/sluice serve` in embedded mode
 * (SQLite, the embedded S3 store) on free loopback ports, with its own data directory.
 * `SLUICE_BIN` overrides the binary.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface Running {
  baseUrl: string;
  token(sub: string): string;
  stop(): Promise<void>;
}

const binary = process.env.SLUICE_BIN ?? resolve(import.meta.dirname, "../../../target/debug/sluice");

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export async function startSluice(extra: Record<string, string> = {}): Promise<Running> {
  const data = mkdtempSync(join(tmpdir(), "sluice-client-"));
  const [api, store] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    SLUICE__SERVER__DATA_DIR: data,
    SLUICE__SERVER__BIND: `127.0.0.1:${api}`,
    SLUICE__STORAGE__EMBEDDED_BIND: `127.0.0.1:${store}`,
    SLUICE_LOG: "warn",
    ...extra,
  };
  const child: ChildProcess = spawn(binary, ["serve"], { env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (chunk) => (log += String(chunk)));
  const baseUrl = `http://127.0.0.1:${api}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sluice exited:\n${log}`);
    const ready = await fetch(`${baseUrl}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`sluice not ready in 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    baseUrl,
    token: (sub) => execFileSync(binary, ["token", "--sub", sub, "--ttl", "1h"], { env }).toString().trim(),
    stop: async () => {
      child.kill("SIGTERM");
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
      rmSync(data, { recursive: true, force: true });
    },
  };
}
