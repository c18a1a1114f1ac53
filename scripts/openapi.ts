/**
 * `npm run openapi`: writes openapi.json, the copy of the OpenAPI document kept in the repo.
 * It builds the document in Node from the operations' declarations (src/contract/), with the
 * vars wrangler.toml gives the Worker; no Worker is started. A test fails when the copy is stale.
 */
import "./lib/source-imports.ts";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { format, resolveConfig } from "prettier";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { PROJECT_ROOT } from "./lib/dev-server.ts";

// Imported by a computed name, so that the scripts' type check does not take in the Worker's sources.
const contract = "../src/contract/openapi.ts";
const { openApiDocument } = (await import(contract)) as { openApiDocument(vars: Record<string, string>): unknown };
const { workerOptions } = unstable_getMiniflareWorkerOptions(join(PROJECT_ROOT, "wrangler.toml"));
const vars = (workerOptions as { bindings?: Record<string, string> }).bindings ?? {};

const path = join(PROJECT_ROOT, "openapi.json");
// Written as the formatter would write it, so that the copy passes `npm run format:check`.
const options = { ...(await resolveConfig(path)), filepath: path };
await writeFile(path, await format(JSON.stringify(openApiDocument(vars)), options));
console.log(`Wrote ${path}`);
