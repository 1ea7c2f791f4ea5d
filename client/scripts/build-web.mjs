// Bundles the upload page and the admin dashboard (web/) with esbuild into api/pages/,
// which the `sluice` binary embeds: `cargo run` needs nothing else at run time.
// `node scripts/build-web.mjs --check` fails when the committed bundle is stale.
import { mkdtempSync, readFileSync, readdirSync, rmSync, copyFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";

const check = process.argv.includes("--check");
const target = "../api/pages";
const out = check ? mkdtempSync(join(tmpdir(), "sluice-pages-")) : target;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: ["web/upload.ts", "web/admin.ts"],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "none",
  outdir: out,
  logLevel: "warning",
});
for (const file of ["upload.html", "admin.html", "style.css"]) copyFileSync(join("web", file), join(out, file));
if (check) {
  const stale = readdirSync(out).filter((f) => {
    try {
      return readFileSync(join(out, f), "utf8") !== readFileSync(join(target, f), "utf8");
    } catch {
      return true;
    }
  });
  rmSync(out, { recursive: true, force: true });
  if (stale.length > 0) {
    console.error(`api/pages is stale (${stale.join(", ")}): run \`npm run build:web\` in client/ and commit it`);
    process.exit(1);
  }
  console.log("api/pages matches client/web");
}
