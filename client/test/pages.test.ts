/**
 * The upload page and the admin dashboard in a real browser: Debian's chromium driven by
 * playwright-core (never a downloaded browser) against a real embedded `sluice serve`.
 * A small file and a 30 MiB multipart file go up with progress, the large one resumes
 * after a reload, a download restores the original name, a refusal reads plainly, and
 * the dashboard filters the sessions and shows a trail. Screenshots of both pages go to
 * `client/screenshots/` (or `SCREENSHOTS_DIR`).
 *
 * Skipped, saying so, where /usr/bin/chromium is missing; under CI that is a failure.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, it } from "node:test";

import { type BrowserContext, type Page, chromium } from "playwright-core";

import { createSluiceClient, unwrap } from "../src/index.js";
import { EICAR, type Running, startClamd, startSluice } from "./server.js";

const CHROMIUM = "/usr/bin/chromium";
const MiB = 1024 * 1024;
const ADMIN_KEY = "pages-test-admin-key-0123456789";
const OWNER = "page-user";
const shots = process.env.SCREENSHOTS_DIR ?? resolve(import.meta.dirname, "../../screenshots");
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: .ci/run installs it`);
const skip = haveChromium ? false : `no ${CHROMIUM}: browser tests skipped`;

let sluice: Running;
/** A webhook receiver of the test's own: answers `hookStatus`, records `webhook-id`s. */
let hook: Server;
let hookStatus = 500;
const hookIds: string[] = [];
let context: BrowserContext;
let page: Page;
let files: string;
let profileDir: string;

/** A file on disk (so the browser's `File.lastModified` is stable across a reload). */
function file(name: string, size: number, seed: number): string {
  const bytes = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  const path = join(files, name);
  writeFileSync(path, bytes);
  utimesSync(path, new Date("2026-11-30T12:00:00Z"), new Date("2026-11-30T12:00:00Z"));
  return path;
}

before(async () => {
  if (skip) return;
  hook = createServer((req, res) => {
    hookIds.push(String(req.headers["webhook-id"] ?? ""));
    req.resume();
    res.writeHead(hookStatus, { "content-type": "application/json" });
    res.end(JSON.stringify({ answered: hookStatus }));
  });
  await new Promise<void>((done) => hook.listen(0, "127.0.0.1", done));
  const hookPort = (hook.address() as import("node:net").AddressInfo).port;
  sluice = await startSluice({
    // Commits are announced to a receiver that fails at first: given up after one retry.
    SLUICE__WEBHOOKS__ENDPOINTS__HOOK__URL: `http://127.0.0.1:${hookPort}/hook`,
    SLUICE__WEBHOOKS__ENDPOINTS__HOOK__SECRET: `whsec_${Buffer.alloc(32, 7).toString("base64")}`,
    SLUICE__WEBHOOKS__ENDPOINTS__HOOK__EVENTS: '["upload.committed"]',
    SLUICE__QUEUE__RETRY__DELIVER_WEBHOOK: '["1s"]',
    SLUICE__PROFILES__DEFAULT__MULTIPART_THRESHOLD: "5MiB",
    SLUICE__PROFILES__DEFAULT__PART_SIZE: "5MiB",
    SLUICE__PROFILES__TINY__MAX_SIZE: "1KiB",
    SLUICE__AUTH__ADMIN_KEYS: `["${ADMIN_KEY}"]`,
  });
  files = mkdtempSync(join(tmpdir(), "sluice-page-files-"));
  profileDir = mkdtempSync(join(tmpdir(), "sluice-chromium-"));
  mkdirSync(shots, { recursive: true });
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
});

after(async () => {
  hook?.close();
  await context?.close();
  await sluice?.stop();
  if (files) rmSync(files, { recursive: true, force: true });
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
});

/** The list item of `name` on the upload page. */
const row = (name: string) => page.locator(`#uploads li[data-file="${name}"]`);

it("uploads a small and a 30 MiB file, resumes the large one after a reload, downloads by name", { skip, timeout: 120_000 }, async () => {
  const token = sluice.token(OWNER);
  await page.goto(`${sluice.baseUrl}/#token=${token}`);
  assert.equal(new URL(page.url()).hash, "", "the token leaves the address bar");

  // A small file: one PUT, commit, download by its original name.
  const small = "notes été.txt";
  await page.setInputFiles("#files", file(small, 4321, 1));
  await row(small).and(page.locator('[data-state="uploaded"]')).waitFor();
  await row(small).getByRole("button", { name: "Commit" }).click();
  const link = row(small).locator("a.download");
  await link.waitFor();
  const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
  assert.equal(download.suggestedFilename(), small);

  // A 30 MiB file in parts; the store is slowed so the reload lands mid-way.
  const big = "holiday.mov";
  const bigPath = file(big, 30 * MiB, 2);
  const storeHost = await storeOrigin(sluice.token("probe-user"));
  let putsBefore = 0;
  await context.route(`${storeHost}/**`, async (route) => {
    if (route.request().method() === "PUT") await new Promise((r) => setTimeout(r, 400));
    await route.continue();
  });
  const countPuts = (response: import("playwright-core").Response) => {
    if (response.request().method() === "PUT" && response.url().startsWith(storeHost) && response.ok()) putsBefore += 1;
  };
  page.on("response", countPuts);
  const progress: number[] = [];
  await page.setInputFiles("#files", bigPath);
  const sessionId = await waitForSession(big);
  while (putsBefore < 1) {
    progress.push(await row(big).locator("progress").evaluate((p) => (p as HTMLProgressElement).value));
    await page.waitForTimeout(50);
  }
  progress.push(await row(big).locator("progress").evaluate((p) => (p as HTMLProgressElement).value));
  assert.ok(progress.some((v) => v > 0 && v < 1), `progress between 0 and 1: ${progress.join(",")}`);
  page.off("response", countPuts);

  await page.reload();
  await page.locator("#resumable-list li", { hasText: big }).waitFor();
  await page.screenshot({ path: join(shots, "upload-interrupted.png"), fullPage: true });
  let putsAfter = 0;
  page.on("response", (response) => {
    if (response.request().method() === "PUT" && response.url().startsWith(storeHost) && response.ok()) putsAfter += 1;
  });
  await page.setInputFiles("#files", bigPath);
  await row(big).and(page.locator('[data-state="uploaded"]')).waitFor({ timeout: 60_000 });
  assert.equal(await row(big).getAttribute("data-session"), sessionId, "the same session went on");
  assert.ok(putsAfter < 6, `only the missing parts were sent after the reload (${putsAfter} of 6)`);
  assert.equal(await row(big).locator("progress").evaluate((p) => (p as HTMLProgressElement).value), 1);
  await context.unroute(`${storeHost}/**`);

  // A refusal reads plainly.
  await page.fill("#profile", "tiny");
  await page.setInputFiles("#files", file("too-big.bin", 2048, 3));
  await row("too-big.bin").locator(".status.error", { hasText: "Too large" }).waitFor();
  await page.screenshot({ path: join(shots, "upload.png"), fullPage: true });

  // Sluice agrees: the small one is committed, the large one uploaded with its size.
  const api = createSluiceClient({ baseUrl: sluice.baseUrl, token });
  const session = unwrap(await api.GET("/v1/uploads/{id}", { params: { path: { id: sessionId } } }));
  assert.equal(session.state, "uploaded");
  assert.equal(session.size, 30 * MiB);
});

it("choosing 200 files at once creates them with one batch request and uploads all 200", { skip, timeout: 180_000 }, async () => {
  const owner = "batch-page-user";
  const token = sluice.token(owner);
  // Another query string: a whole new page (a new hash alone would not load the token).
  await page.goto(`${sluice.baseUrl}/?batch#token=${token}`);
  await page.fill("#profile", "default");
  let batches = 0;
  let singles = 0;
  const count = (request: import("playwright-core").Request) => {
    if (request.method() !== "POST") return;
    const path = new URL(request.url()).pathname;
    if (path === "/v1/uploads/batch") batches += 1;
    if (path === "/v1/uploads") singles += 1;
  };
  page.on("request", count);
  const chosen = Array.from({ length: 200 }, (_, i) => file(`batch-${String(i).padStart(3, "0")}.txt`, 200 + i, 100 + i));
  await page.setInputFiles("#files", chosen);
  const uploaded = page.locator('#uploads li[data-state="uploaded"][data-file^="batch-"]');
  const give_up = Date.now() + 150_000;
  while ((await uploaded.count()) < 200 && Date.now() < give_up) await page.waitForTimeout(250);
  page.off("request", count);
  assert.equal(await uploaded.count(), 200, "every chosen file uploaded");
  assert.equal(batches, 1, "one batch request for the 200 files");
  assert.equal(singles, 0, "no file was created on its own");
  await page.screenshot({ path: join(shots, "upload-batch.png"), fullPage: false });

  // Sluice agrees: one batch of 200, all uploaded, announced complete.
  const api = createSluiceClient({ baseUrl: sluice.baseUrl, token });
  const someId = (await page.locator('#uploads li[data-file^="batch-"]').first().getAttribute("data-session")) ?? "";
  const session = unwrap(await api.GET("/v1/uploads/{id}", { params: { path: { id: someId } } }));
  assert.ok(session.batch_id);
  const batch = unwrap(await api.GET("/v1/batches/{id}", { params: { path: { id: session.batch_id } } }));
  assert.equal(batch.total, 200);
  assert.deepEqual(batch.states, { uploaded: 200 });
  assert.equal(batch.completed, true);
});

it("the dashboard filters sessions, pages, shows a trail and force-expires", { skip, timeout: 60_000 }, async () => {
  await page.goto(`${sluice.baseUrl}/admin`);
  await page.fill("#key", ADMIN_KEY);
  await page.click("#login button");
  await page.locator("#sessions tbody tr").first().waitFor();
  await page.locator("#per-day rect").first().waitFor({ state: "attached" });

  await page.fill('#filters input[name="owner"]', OWNER);
  await page.fill('#filters input[name="limit"]', "1");
  await page.click('#filters button[type="submit"]');
  await page.locator("#page-info", { hasText: "page 1, 1 sessions" }).waitFor();
  const seen = new Set<string>();
  for (;;) {
    const ids = await page.locator("#sessions tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id") ?? ""));
    for (const id of ids) {
      assert.ok(!seen.has(id), `${id} shown twice`);
      seen.add(id);
    }
    if (await page.locator("#next").isDisabled()) break;
    const before = ids[0];
    await page.click("#next");
    await page.waitForFunction((id) => document.querySelector("#sessions tbody tr")?.getAttribute("data-id") !== id, before);
  }
  assert.equal(seen.size, 2, "the small and the large upload of this owner (the refused one never became a session)");

  await page.fill('#filters input[name="limit"]', "25");
  await page.fill('#filters input[name="state"]', "uploaded");
  await page.click('#filters button[type="submit"]');
  await page.locator("#page-info", { hasText: "page 1, 1 sessions" }).waitFor();
  await page.locator("#sessions tbody tr").first().click();
  await page.locator("#events li").nth(2).waitFor();
  const trail = await page.locator("#events li").allTextContents();
  assert.ok(trail.some((t) => t.includes("pending → verifying")), trail.join("\n"));
  assert.ok(trail.some((t) => t.includes("verifying → uploaded")), trail.join("\n"));
  await page.screenshot({ path: join(shots, "admin.png"), fullPage: true });

  await page.click("#expire");
  await page.locator("#events li", { hasText: "uploaded → expired" }).waitFor();
  assert.equal(await page.locator("#expire").isDisabled(), true);
});

/** Where the store listens: the origin of a presigned URL. */
async function storeOrigin(token: string): Promise<string> {
  const api = createSluiceClient({ baseUrl: sluice.baseUrl, token });
  const created = unwrap(
    await api.POST("/v1/uploads", { body: { profile: "default", filename: "probe.txt", size: 1, content_type: "text/plain" } }),
  );
  await api.POST("/v1/uploads/{id}/abort", { params: { path: { id: created.id } } });
  return new URL(created.put?.url ?? "").origin;
}

async function waitForSession(name: string): Promise<string> {
  const handle = await page.waitForFunction(
    (n) => document.querySelector(`#uploads li[data-file="${n}"]`)?.getAttribute("data-session"),
    name,
  );
  return String(await handle.jsonValue());
}

it("the webhooks section shows a failing endpoint and replays its delivery", { skip, timeout: 60_000 }, async () => {
  // A committed file: its upload.committed is refused twice and given up.
  const owner = createSluiceClient({ baseUrl: sluice.baseUrl, token: sluice.token("hook-user") });
  const created = unwrap(
    await owner.POST("/v1/uploads", { body: { profile: "default", filename: "hooked.txt", size: 5, content_type: "text/plain" } }),
  );
  const put = await fetch(created.put?.url ?? "", { method: "PUT", headers: created.put?.headers, body: "hooks" });
  assert.ok(put.ok, `PUT ${put.status}`);
  unwrap(await owner.POST("/v1/uploads/{id}/complete", { params: { path: { id: created.id } } }));
  unwrap(await owner.POST("/v1/uploads/{id}/commit", { params: { path: { id: created.id } } }));
  const admin = createSluiceClient({ baseUrl: sluice.baseUrl, token: ADMIN_KEY });
  const give_up = Date.now() + 30_000;
  let failed: string | undefined;
  while (!failed && Date.now() < give_up) {
    const page = unwrap(await admin.GET("/v1/admin/webhooks/deliveries", { params: { query: { endpoint: "hook", status: "failed" } } }));
    failed = page.items[0]?.message_id;
    if (!failed) await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(failed, "a given-up delivery");

  // A key stored by an earlier test would log in by itself, hiding the form while the
  // test reaches for it: start from no key, so the form stays until it is submitted.
  await page.goto(`${sluice.baseUrl}/admin`);
  await page.evaluate(() => sessionStorage.clear());
  await page.reload();
  await page.fill("#key", ADMIN_KEY);
  await page.click("#login button");
  const endpoint = page.locator('#endpoints tr[data-endpoint="hook"]');
  await endpoint.waitFor();
  assert.notEqual(await endpoint.locator("td[data-failed]").getAttribute("data-failed"), "0");
  await page.fill('#delivery-filters input[name="status"]', "failed");
  await page.click('#delivery-filters button[type="submit"]');
  const row = page.locator(`#deliveries tr[data-message="${failed}"]`);
  await row.waitFor();
  assert.match((await row.locator("td.excerpt").textContent()) ?? "", /500/);
  await page.screenshot({ path: join(shots, "admin-webhooks.png"), fullPage: true });

  // The receiver is fixed; the delivery is replayed from the dashboard, same webhook-id.
  hookStatus = 200;
  const before = hookIds.filter((id) => id === failed).length;
  await row.getByRole("button", { name: "Replay" }).click();
  const deadline = Date.now() + 30_000;
  while (hookIds.filter((id) => id === failed).length === before && Date.now() < deadline) await page.waitForTimeout(100);
  assert.equal(hookIds.filter((id) => id === failed).length, before + 1, "the replay reached the receiver with the original webhook-id");
  // The receiver counts the request before it answers; Sluice records the answer just after.
  let status: string | undefined;
  while (status !== "delivered" && Date.now() < deadline) {
    const listed = unwrap(await admin.GET("/v1/admin/webhooks/deliveries", { params: { query: { endpoint: "hook" } } }));
    status = listed.items.find((d) => d.message_id === failed)?.status;
    if (status !== "delivered") await page.waitForTimeout(100);
  }
  assert.equal(status, "delivered");
});

it("shows scanning, refuses an infected file plainly, and the dashboard filters by it", { skip, timeout: 120_000 }, async () => {
  const clamd = await startClamd();
  if (!clamd) {
    if (process.env.CI) throw new Error("/usr/sbin/clamd is missing: .ci/run installs clamav-daemon");
    console.log("# scanning page test skipped: no /usr/sbin/clamd");
    return;
  }
  const scanning = await startSluice({
    SLUICE__SCANNER__CLAMD: clamd.address,
    SLUICE__PROFILES__SCANNED__SCAN: "true",
    SLUICE__AUTH__ADMIN_KEYS: `["${ADMIN_KEY}"]`,
  });
  try {
    await page.goto(`${scanning.baseUrl}/#token=${scanning.token(OWNER)}`);
    await page.fill("#profile", "scanned");
    const infected = join(files, "eicar.txt");
    writeFileSync(infected, EICAR);
    const states: string[] = [];
    await page.exposeFunction("sawState", (s: string) => states.push(s));
    await page.evaluate(() => {
      new MutationObserver((changes) => {
        for (const c of changes) {
          const state = (c.target as HTMLElement).dataset.state;
          if (state) (window as unknown as { sawState(s: string): void }).sawState(state);
        }
      }).observe(document.querySelector("#uploads") as Node, { subtree: true, attributeFilter: ["data-state"] });
    });
    await page.setInputFiles("#files", infected);
    const refusal = row("eicar.txt").locator(".status.error", { hasText: "malware scanner found something" });
    await refusal.waitFor({ timeout: 60_000 });
    assert.ok(states.includes("scanning"), `the page showed scanning: ${states.join(",")}`);
    assert.ok(!(await refusal.textContent())?.includes("EICAR"), "no signature name for the uploader");
    await page.setInputFiles("#files", file("clean.txt", 2048, 9));
    await row("clean.txt").and(page.locator('[data-state="uploaded"]')).waitFor({ timeout: 60_000 });

    // The scanner away: the next upload waits in `scanning`, and the dashboard finds it.
    await clamd.stop();
    await page.setInputFiles("#files", file("waiting.txt", 1024, 10));
    await row("waiting.txt").and(page.locator('[data-state="scanning"]')).waitFor({ timeout: 60_000 });
    await page.goto(`${scanning.baseUrl}/admin`);
    await page.fill("#key", ADMIN_KEY);
    await page.click("#login button");
    await page.locator("#sessions tbody tr").first().waitFor();
    await page.fill('#filters input[name="state"]', "scanning");
    await page.click('#filters button[type="submit"]');
    await page.locator("#page-info", { hasText: "page 1, 1 sessions" }).waitFor();
    await page.fill('#filters input[name="state"]', "rejected");
    await page.fill('#filters input[name="failure"]', "malware_detected");
    await page.click('#filters button[type="submit"]');
    await page.locator("#page-info", { hasText: "page 1, 1 sessions" }).waitFor();
    await page.screenshot({ path: join(shots, "admin-scanning.png"), fullPage: true });
  } finally {
    await scanning.stop();
    await clamd.stop();
  }
});
