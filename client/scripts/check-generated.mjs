// Fails when src/schema.d.ts is not what openapi-typescript makes of the committed
// openapi/openapi.json: a change to the spec must come with the regenerated client.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "sluice-client-check-"));
const fresh = join(dir, "schema.d.ts");
try {
  execFileSync("npx", ["openapi-typescript", "../openapi/openapi.json", "--output", fresh], { stdio: "ignore" });
  if (readFileSync(fresh, "utf8") !== readFileSync("src/schema.d.ts", "utf8")) {
    console.error("client/src/schema.d.ts is stale: run `npm run generate` in client/ and commit it");
    process.exit(1);
  }
  console.log("client/src/schema.d.ts matches openapi/openapi.json");
} finally {
  rmSync(dir, { recursive: true, force: true });
}
