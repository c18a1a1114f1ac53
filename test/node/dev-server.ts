import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { seedDemoShow } from "../../scripts/lib/demo.ts";
import { freePort, startDevServer, type DevServer } from "../../scripts/lib/dev-server.ts";

/**
 * Runs a real `wrangler dev` for the tests of the enclosing file (or describe block): on a
 * free port, with storage of its own that is deleted afterwards, and the demo show created.
 * Returns a getter, since the server exists only once the hooks have run.
 */
export function useDevServer(adminToken: string): () => DevServer {
  let server: DevServer | undefined;
  let stateDir: string | undefined;
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "seat-booking-test-"));
    server = await startDevServer({ port: await freePort(), adminToken, persistTo: stateDir });
    await seedDemoShow(server.url, adminToken);
  });
  afterAll(async () => {
    await server?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });
  return () => {
    if (!server) throw new Error("the dev server is not running");
    return server;
  };
}
