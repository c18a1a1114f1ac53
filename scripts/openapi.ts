/**
 * `npm run openapi`: writes openapi.json, the copy of the OpenAPI document kept in the repo.
 * It runs the Worker under Miniflare and saves what it serves at /openapi.json, as served to
 * http://localhost:8787 (the address `npm start` uses). A test fails when the copy is stale.
 */
import { writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { startProject } from "./bench/runtime.ts";
import { PROJECT_ROOT } from "./lib/dev-server.ts";

const worker = await startProject();
try {
  const { port } = new URL(worker.url);
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/openapi.json", headers: { host: "localhost:8787" } },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode} ${body}`))));
      },
    );
    req.on("error", reject);
    req.end();
  });
  const path = join(PROJECT_ROOT, "openapi.json");
  await writeFile(path, `${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  console.log(`Wrote ${path}`);
} finally {
  await worker.stop();
}
