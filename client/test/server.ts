/**
 * A real Sluice for the client's tests: `target/debug/sluice serve` in embedded mode
 * (SQLite, the embedded S3 store) on free loopback ports, with its own data directory.
 * `SLUICE_BIN` overrides the binary.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface Running {
  baseUrl: string;
  token(sub: string): string;
  stop(): Promise<void>;
}

const binary = process.env.SLUICE_BIN ?? resolve(import.meta.dirname, "../../../target/debug/sluice");

export function freePort(): Promise<number> {
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

/** A private clamd (Debian's) whose only signature is the EICAR test file's MD5, on a
 * free port; `undefined` where clamd is not installed (the caller skips, saying so). */
export interface Clamd {
  address: string;
  stop(): Promise<void>;
}

export const EICAR = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

export async function startClamd(): Promise<Clamd | undefined> {
  const clamd = "/usr/sbin/clamd";
  if (!existsSync(clamd)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "sluice-clamd-"));
  mkdirSync(join(dir, "db"));
  writeFileSync(join(dir, "db", "test.hdb"), `44d88612fea8a8f36de82e1278abb02f:${EICAR.length}:Sluice-Test-EICAR\n`);
  const port = await freePort();
  writeFileSync(
    join(dir, "clamd.conf"),
    `Foreground yes\nDatabaseDirectory ${join(dir, "db")}\nTCPSocket ${port}\nTCPAddr 127.0.0.1\nLogFile ${join(dir, "clamd.log")}\n`,
  );
  const child = spawn(clamd, ["-c", join(dir, "clamd.conf")], { stdio: "ignore" });
  const deadline = Date.now() + 60_000;
  while (!(await pong(port))) {
    if (Date.now() > deadline) throw new Error("clamd did not answer within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address: `tcp://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
      if (child.exitCode === null) await new Promise((r) => child.once("exit", r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function pong(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(port, "127.0.0.1", () => socket.write("zPING\0"));
    socket.once("data", (data) => {
      socket.destroy();
      done(String(data).startsWith("PONG"));
    });
    socket.once("error", () => done(false));
  });
}
