/**
 * The dashboard's webhooks section: each configured endpoint's health (pending,
 * delivered, given up, the last day's success rate and latency, the oldest pending
 * delivery) with pause / resume and "replay failed", and the deliveries with every
 * attempt (status, latency, the start of the answer), filtered and paged, each
 * replayable with its original `webhook-id`.
 */
import { type SluiceClient, unwrap } from "../src/index.js";
import { byId, element } from "./dom.js";

type Fail = (error: unknown) => void;

let nextCursor: string | null = null;

function filters(): Record<string, string> {
  const form = new FormData(byId<HTMLFormElement>("delivery-filters"));
  const query: Record<string, string> = {};
  for (const [name, raw] of form) {
    const value = String(raw).trim();
    if (value) query[name] = value;
  }
  return query;
}

function button(label: string, onClick: () => Promise<void>, fail: Fail, attributes: Record<string, string> = {}): HTMLButtonElement {
  const b = element("button", { type: "button", class: "secondary", ...attributes }, label);
  b.addEventListener("click", () => void onClick().catch(fail));
  return b;
}

export async function loadEndpoints(client: SluiceClient, fail: Fail): Promise<void> {
  const { endpoints } = unwrap(await client.GET("/v1/admin/webhooks/endpoints"));
  const refresh = () => Promise.all([loadEndpoints(client, fail), loadDeliveries(client, fail, undefined)]).then(() => undefined);
  byId("endpoints")
    .querySelector("tbody")
    ?.replaceChildren(
      ...endpoints.map((e) => {
        const rate = e.success_rate_24h == null ? "—" : `${Math.round(e.success_rate_24h * 100)}%`;
        const toggle = e.paused_at
          ? button("Resume", async () => {
              unwrap(await client.POST("/v1/admin/webhooks/endpoints/{name}/resume", { params: { path: { name: e.name } } }));
              await refresh();
            }, fail)
          : button("Pause", async () => {
              unwrap(await client.POST("/v1/admin/webhooks/endpoints/{name}/pause", { params: { path: { name: e.name } } }));
              await refresh();
            }, fail);
        const replay = button("Replay failed (24 h)", async () => {
          const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
          const { replayed } = unwrap(
            await client.POST("/v1/admin/webhooks/endpoints/{name}/replay", { params: { path: { name: e.name } }, body: { since } }),
          );
          byId("message").textContent = `${replayed} deliveries of ${e.name} sent again`;
          await refresh();
        }, fail, { "data-action": "replay-failed" });
        return element(
          "tr",
          { "data-endpoint": e.name, "data-paused": e.paused_at ? "true" : "false" },
          element("td", {}, e.name),
          element("td", {}, e.paused_at ? `paused since ${new Date(e.paused_at).toLocaleString()}` : "active"),
          element("td", {}, String(e.pending)),
          element("td", {}, String(e.delivered)),
          element("td", { "data-failed": String(e.failed) }, String(e.failed)),
          element("td", {}, `${rate} of ${e.attempts_24h}`),
          element("td", {}, e.mean_latency_ms_24h == null ? "—" : `${e.mean_latency_ms_24h} ms`),
          element("td", {}, e.oldest_pending ? new Date(e.oldest_pending).toLocaleString() : "—"),
          element("td", {}, toggle, " ", replay),
        );
      }),
    );
}

export async function loadDeliveries(client: SluiceClient, fail: Fail, cursor: string | undefined): Promise<void> {
  const query = { ...filters(), limit: 25, ...(cursor ? { cursor } : {}) };
  const page = unwrap(await client.GET("/v1/admin/webhooks/deliveries", { params: { query } }));
  nextCursor = page.next_cursor ?? null;
  byId("deliveries")
    .querySelector("tbody")
    ?.replaceChildren(
      ...page.items.map((d) => {
        const last = d.attempt_log.at(-1);
        const answer = last
          ? `${last.status ?? last.error ?? "no answer"} in ${last.latency_ms} ms${last.response_excerpt ? `: ${last.response_excerpt}` : ""}`
          : "not attempted yet";
        const actions =
          d.status === "pending"
            ? ""
            : button("Replay", async () => {
                unwrap(await client.POST("/v1/admin/webhooks/deliveries/{id}/replay", { params: { path: { id: d.id } } }));
                await Promise.all([loadEndpoints(client, fail), loadDeliveries(client, fail, undefined)]);
              }, fail);
        return element(
          "tr",
          { "data-id": String(d.id), "data-status": d.status, "data-message": d.message_id },
          element("td", {}, new Date(d.created_at).toLocaleString()),
          element("td", {}, d.endpoint),
          element("td", {}, d.event),
          element("td", {}, d.status),
          element("td", {}, String(d.attempt_log.length)),
          element("td", { class: "excerpt" }, answer),
          element("td", {}, actions),
        );
      }),
    );
  byId<HTMLButtonElement>("deliveries-next").disabled = nextCursor === null;
}

/** Wires the section's forms and buttons; call once. */
export function initWebhooks(client: SluiceClient, fail: Fail): void {
  byId<HTMLFormElement>("delivery-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    loadDeliveries(client, fail, undefined).catch(fail);
  });
  byId("deliveries-next").addEventListener("click", () => {
    if (nextCursor !== null) loadDeliveries(client, fail, nextCursor).catch(fail);
  });
}
