/**
 * The upload page (`/`): pick or drop files, a progress bar per file, pause / resume /
 * abort, commit, a download link restoring the original name, and a plain message for
 * every refusal. Several files chosen at once are created with one batch request
 * (`POST /v1/uploads/batch`) and sent a few at a time. Built only on the generated
 * client and its upload helper.
 *
 * Invariant: the token lives in `sessionStorage` (this tab only); the page keeps nothing
 * but session ids in `localStorage`, through the helper's resume store.
 */
import {
  Cancelled,
  type CreatedUpload,
  SluiceError,
  Upload,
  browserResumeStore,
  createBatches,
  createSluiceClient,
  limiter,
  unwrap,
} from "../src/index.js";
import { byId, element, formatBytes } from "./dom.js";

const TOKEN = "sluice:token";
const tokenInput = byId<HTMLInputElement>("token");
const profileInput = byId<HTMLInputElement>("profile");
const elsewhereInput = byId<HTMLInputElement>("elsewhere");

// A token handed over in the fragment (never sent to a server) is taken and hidden.
const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromFragment) {
  sessionStorage.setItem(TOKEN, fromFragment);
  history.replaceState(null, "", location.pathname + location.search);
}
tokenInput.value = sessionStorage.getItem(TOKEN) ?? "";
tokenInput.addEventListener("change", () => sessionStorage.setItem(TOKEN, tokenInput.value.trim()));

const client = createSluiceClient({
  baseUrl: location.origin,
  token: () => sessionStorage.getItem(TOKEN) ?? "",
});

/** Files sending at once; the rest wait their turn ("Waiting…"). */
const inFlight = limiter(4);

/** What a refusal means to the person uploading. */
export function explain(error: unknown): string {
  if (error instanceof SluiceError) {
    const detail = error.problem?.detail ?? error.message;
    switch (error.code) {
      case "too_large":
        return `Too large: ${detail}`;
      case "type_not_allowed":
      case "extension_not_allowed":
      case "type_mismatch":
        return `This kind of file is not accepted: ${detail}`;
      case "quota_exceeded":
        return `Quota reached: ${detail}`;
      case "unauthorized":
        return "Sign in first: paste an upload token above.";
      case "size_mismatch":
      case "checksum_mismatch":
        return `The stored file did not match: ${detail}`;
      case "malware_detected":
        return "Refused: the malware scanner found something in this file, and it was not kept.";
      case "too_large_to_scan":
        return "Refused: this file is too large to be scanned for malware, and it was not kept.";
      default:
        return detail;
    }
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

function addFile(file: File, created?: CreatedUpload, refused?: unknown): void {
  const bar = element("progress", { max: "1", value: "0" });
  const status = element("p", { class: "status" }, "Starting…");
  const pause = element("button", { type: "button", class: "secondary" }, "Pause");
  const resume = element("button", { type: "button", class: "secondary", disabled: "" }, "Resume");
  const abort = element("button", { type: "button", class: "danger" }, "Abort");
  const commit = element("button", { type: "button", hidden: "" }, "Commit");
  const links = element("p", { class: "links" });
  const row = element(
    "li",
    { "data-file": file.name },
    element("span", { class: "name" }, file.name),
    ` ${formatBytes(file.size)}`,
    bar,
    status,
    element("div", { class: "actions" }, pause, resume, abort, commit),
    links,
  );
  byId("uploads").append(row);

  if (refused !== undefined) {
    // Refused when its batch was created: there is no session to act on.
    row.dataset.state = "failed";
    status.textContent = explain(refused);
    status.classList.add("error");
    for (const button of [pause, resume, abort]) button.disabled = true;
    return;
  }

  const upload = new Upload({
    client,
    file,
    created,
    resumeElsewhere: elsewhereInput.checked,
    profile: profileInput.value.trim() || "default",
    resumeStore: browserResumeStore(),
    onSession: (session) => row.setAttribute("data-session", session.id),
    onProgress: ({ uploaded, total }) => {
      bar.value = total === 0 ? 1 : uploaded / total;
      status.textContent = `${formatBytes(uploaded)} of ${formatBytes(total)}`;
    },
  });

  const run = () => {
    pause.disabled = false;
    resume.disabled = true;
    row.dataset.state = "waiting";
    status.textContent = "Waiting…";
    inFlight(() => {
      row.dataset.state = "uploading";
      return upload.start();
    })
      .then(() =>
        upload.settled({
          onState: (state) => {
            row.dataset.state = state;
            status.textContent = state === "scanning" ? "Scanning for malware…" : "Verifying…";
          },
        }),
      )
      .then(
        (session) => {
          row.dataset.state = session.state;
          status.textContent = session.state === "uploaded" ? "Uploaded and verified." : `State: ${session.state}`;
          pause.disabled = resume.disabled = true;
          commit.hidden = session.state !== "uploaded";
          refreshResumable();
        },
        (error: unknown) => {
          if (error instanceof Cancelled) {
            row.dataset.state = upload.session?.state === "aborted" ? "aborted" : "paused";
            status.textContent = row.dataset.state === "aborted" ? "Aborted." : "Paused.";
            resume.disabled = row.dataset.state === "aborted";
            pause.disabled = true;
            return;
          }
          row.dataset.state = "failed";
          status.textContent = explain(error);
          status.classList.add("error");
          pause.disabled = true;
          // Refused before a session existed: there is nothing to abort.
          abort.disabled = upload.session === null;
          resume.disabled = !(error instanceof SluiceError && error.status >= 500);
        },
      );
  };

  pause.addEventListener("click", () => upload.pause());
  resume.addEventListener("click", run);
  abort.addEventListener("click", async () => {
    try {
      await upload.abort();
      row.dataset.state = "aborted";
      status.textContent = "Aborted: nothing is kept.";
      pause.disabled = resume.disabled = abort.disabled = true;
      commit.hidden = true;
      refreshResumable();
    } catch (error) {
      status.textContent = explain(error);
    }
  });
  commit.addEventListener("click", async () => {
    const id = upload.session?.id;
    if (!id) return;
    try {
      const file = unwrap(await client.POST("/v1/uploads/{id}/commit", { params: { path: { id } } }));
      const link = unwrap(await client.POST("/v1/files/{id}/download-url", { params: { path: { id: file.id } }, body: {} }));
      row.dataset.state = "committed";
      row.dataset.fileId = file.id;
      status.textContent = "Committed.";
      commit.hidden = true;
      abort.disabled = true;
      links.replaceChildren(element("a", { href: link.url, class: "download" }, `Download ${file.filename}`));
    } catch (error) {
      status.textContent = explain(error);
      status.classList.add("error");
    }
  });
  run();
}

/** Lists uploads a reload interrupted: choosing the same file again resumes each. */
function refreshResumable(): void {
  const items: HTMLElement[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (!key?.startsWith("sluice:upload:")) continue;
    const [, name, size] = key.slice("sluice:upload:".length).split("|");
    const active = [...document.querySelectorAll<HTMLElement>("#uploads li")].some(
      (li) => li.dataset.file === name && li.dataset.state !== "paused",
    );
    if (!active) items.push(element("li", {}, `${name} (${formatBytes(Number(size))}): choose it again to resume`));
  }
  byId("resumable-list").replaceChildren(...items);
  byId("resumable").hidden = items.length === 0;
}

/** One file goes alone; several are created with one batch request (or one per
 * 1,000), each then sent by its own upload. */
async function addAll(files: FileList | null): Promise<void> {
  const chosen = [...(files ?? [])];
  if (chosen.length <= 1) {
    for (const file of chosen) addFile(file);
    return;
  }
  try {
    const { slots } = await createBatches({
      client,
      files: chosen,
      profile: profileInput.value.trim() || "default",
      resumeStore: browserResumeStore(),
    });
    slots.forEach((slot, i) => addFile(chosen[i] as File, slot.created, slot.error));
  } catch (error) {
    // The batch was refused whole (a quota the files together would break, say).
    for (const file of chosen) addFile(file, undefined, error);
  }
}

const input = byId<HTMLInputElement>("files");
input.addEventListener("change", () => {
  const files = input.files;
  void addAll(files).finally(() => {
    input.value = "";
  });
});
const drop = byId("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  void addAll(event.dataTransfer?.files ?? null);
});
refreshResumable();
