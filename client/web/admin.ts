/**
 * The admin dashboard (`/admin`): totals by state and profile, uploads per day as a chart,
 * the sessions table with the admin API's filters and keyset paging, a session's audit
 * trail, force-expire, and the webhooks section (`webhooks.ts`). Built only on the
 * generated client.
 *
 * Invariant: the admin key lives in `sessionStorage` (this tab only) and goes out only as
 * the bearer header of admin routes.
 */
import { type Schemas, SluiceError, createSluiceClient, type paths, unwrap } from "../src/index.js";
import { byId, element, formatBytes } from "./dom.js";
import { initWebhooks, loadDeliveries, loadEndpoints } from "./webhooks.js";

type AdminQuery = NonNullable<paths["/v1/admin/uploads"]["get"]["parameters"]["query"]>;

const KEY = "sluice:admin-key";
const LIVE = new Set(["pending", "verifying", "scanning", "uploaded"]);
const message = byId("message");
const client = createSluiceClient({ baseUrl: location.origin, token: () => sessionStorage.getItem(KEY) ?? "" });

/** Cursors of the pages shown so far, so "first page" and the page count work. */
let cursors: (string | undefined)[] = [undefined];
let nextCursor: string | null = null;

function fail(error: unknown): void {
  message.textContent =
    error instanceof SluiceError ? `${error.code}: ${error.problem?.detail ?? error.message}` : String(error);
}

function filters(): AdminQuery {
  const form = new FormData(byId<HTMLFormElement>("filters"));
  const query: Record<string, string | number> = {};
  for (const [name, raw] of form) {
    const value = String(raw).trim();
    if (!value) continue;
    query[name] = name.startsWith("created_") ? new Date(value).toISOString() : name === "limit" ? Number(value) : value;
  }
  // The form's names are the query's own (state, failure, owner, profile, created_*, limit).
  return query as AdminQuery;
}

async function loadStats(): Promise<void> {
  const stats = unwrap(await client.GET("/v1/admin/stats", { params: { query: { days: 30, fresh: true } } }));
  const table = (id: string, rows: Schemas["CountAndBytes"][]) =>
    byId(id).replaceChildren(
      byId(id).querySelector("caption") ?? "",
      element("tr", {}, element("th", {}, "Key"), element("th", {}, "Count"), element("th", {}, "Bytes")),
      ...rows.map((r) =>
        element("tr", {}, element("td", {}, r.key), element("td", {}, String(r.count)), element("td", {}, formatBytes(r.bytes))),
      ),
    );
  table("by-state", stats.by_state);
  table("by-profile", stats.by_profile);
  drawPerDay(stats.per_day);
  byId("computed-at").textContent = `Computed at ${new Date(stats.computed_at).toLocaleString()}`;
}

/** A bar per day, scaled to the busiest day. */
function drawPerDay(days: Schemas["CountAndBytes"][]): void {
  const svg = byId("per-day") as unknown as SVGSVGElement;
  const width = svg.clientWidth || 800;
  const max = Math.max(1, ...days.map((d) => d.count));
  const slot = width / Math.max(1, days.length);
  const ns = "http://www.w3.org/2000/svg";
  const bars = days.flatMap((day, i) => {
    const height = Math.round((day.count / max) * 110);
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("x", String(i * slot + 2));
    rect.setAttribute("y", String(120 - height));
    rect.setAttribute("width", String(Math.max(2, slot - 4)));
    rect.setAttribute("height", String(height));
    rect.setAttribute("data-day", day.key);
    rect.setAttribute("data-count", String(day.count));
    const title = document.createElementNS(ns, "title");
    title.textContent = `${day.key}: ${day.count} uploads, ${formatBytes(day.bytes)}`;
    rect.append(title);
    // A date under every fifth bar (and the last): more would overlap.
    if (i % 5 !== 0 && i !== days.length - 1) return [rect];
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", String(i * slot + 2));
    label.setAttribute("y", "134");
    label.textContent = day.key.slice(5);
    return [rect, label];
  });
  svg.replaceChildren(...bars);
}

async function loadPage(cursor: string | undefined): Promise<void> {
  const query = { ...filters(), ...(cursor ? { cursor } : {}) };
  const page = unwrap(await client.GET("/v1/admin/uploads", { params: { query } }));
  nextCursor = page.next_cursor ?? null;
  byId("sessions")
    .querySelector("tbody")
    ?.replaceChildren(
      ...page.items.map((s) => {
        const row = element(
          "tr",
          { "data-id": s.id, "data-state": s.state },
          element("td", {}, new Date(s.created_at).toLocaleString()),
          element("td", {}, s.owner),
          element("td", {}, s.profile),
          element("td", {}, s.filename),
          element("td", {}, formatBytes(s.size)),
          element("td", {}, s.state),
        );
        row.addEventListener("click", () => void showTrail(s.id).catch(fail));
        return row;
      }),
    );
  byId<HTMLButtonElement>("next").disabled = nextCursor === null;
  byId<HTMLButtonElement>("first").disabled = cursors.length <= 1;
  byId("page-info").textContent = `page ${cursors.length}, ${page.items.length} sessions`;
}

async function showTrail(id: string): Promise<void> {
  const session = unwrap(await client.GET("/v1/admin/uploads/{id}", { params: { path: { id } } }));
  byId("trail").hidden = false;
  byId("trail-id").textContent = session.id;
  byId("trail-summary").textContent =
    `${session.filename}, ${formatBytes(session.size)}, owner ${session.owner}, profile ${session.profile}, store ${session.store}: ${session.state}`;
  byId("events").replaceChildren(
    ...session.events.map((e) =>
      element(
        "li",
        { "data-kind": e.kind, "data-to": e.to_state },
        `${new Date(e.at).toLocaleString()} · ${e.kind} · ${e.from_state ? `${e.from_state} → ` : ""}${e.to_state} · ${e.actor}`,
      ),
    ),
  );
  const expire = byId<HTMLButtonElement>("expire");
  expire.disabled = !LIVE.has(session.state);
  expire.onclick = async () => {
    try {
      unwrap(await client.POST("/v1/admin/uploads/{id}/expire", { params: { path: { id } } }));
      await Promise.all([showTrail(id), loadPage(cursors.at(-1)), loadStats()]);
    } catch (error) {
      fail(error);
    }
  };
}

async function open(): Promise<void> {
  message.textContent = "";
  cursors = [undefined];
  await Promise.all([
    loadStats(),
    loadPage(undefined),
    loadEndpoints(client, fail),
    loadDeliveries(client, fail, undefined),
  ]);
  byId("login").hidden = true;
  byId("dashboard").hidden = false;
}

byId<HTMLFormElement>("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, byId<HTMLInputElement>("key").value.trim());
  open().catch(fail);
});
byId<HTMLFormElement>("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  cursors = [undefined];
  loadPage(undefined).catch(fail);
});
byId("next").addEventListener("click", () => {
  if (nextCursor === null) return;
  cursors.push(nextCursor);
  loadPage(nextCursor).catch(fail);
});
byId("first").addEventListener("click", () => {
  cursors = [undefined];
  loadPage(undefined).catch(fail);
});
initWebhooks(client, fail);
if (sessionStorage.getItem(KEY)) open().catch(fail);
