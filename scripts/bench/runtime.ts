/**
 * Runs a Worker under workerd through Miniflare, with no `wrangler dev` proxy in front,
 * on a free port with a fresh (temporary) store.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { freePort, PROJECT_ROOT, wranglerBin } from "../lib/dev-server.ts";

export const BENCH_ADMIN_TOKEN = "bench-admin-token";

export interface RunningWorker {
  url: string;
  stop(): Promise<void>;
}

/** Bundles the project with wrangler (as `wrangler deploy` would) and runs it. */
export async function startProject(): Promise<RunningWorker> {
  const outdir = await mkdtemp(join(tmpdir(), "seat-booking-bench-"));
  await promisify(execFile)(process.execPath, [wranglerBin(), "deploy", "--dry-run", "--outdir", outdir], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  // Compatibility settings, Durable Objects and vars as wrangler.toml gives them. The static
  // assets are left out: the API never reaches them, and the floor has none.
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(PROJECT_ROOT, "wrangler.toml"));
  const { compatibilityDate, compatibilityFlags, durableObjects, bindings } = workerOptions as Record<string, unknown>;
  return start(
    {
      modules: true,
      scriptPath: join(outdir, "index.js"),
      modulesRoot: outdir,
      compatibilityDate,
      compatibilityFlags,
      durableObjects,
      // The load comes from one address: rate limiting would measure the limiter, not the service.
      bindings: { ...(bindings as Record<string, unknown>), ADMIN_TOKEN: BENCH_ADMIN_TOKEN, RATE_LIMITING: "off" },
    },
    () => rm(outdir, { recursive: true, force: true }),
  );
}

/** The floor Worker (scripts/bench/floor-worker.js), run the same way. */
export async function startFloor(): Promise<RunningWorker> {
  return start({
    modules: true,
    scriptPath: join(dirname(fileURLToPath(import.meta.url)), "floor-worker.js"),
    modulesRoot: dirname(fileURLToPath(import.meta.url)),
    compatibilityDate: "2026-11-01",
    durableObjects: { FLOOR: { className: "FloorShow", useSQLite: true } },
  });
}

type V4Options = Parameters<typeof convertV4MiniflareOptions>[0];

async function start(
  workerOptions: Partial<V4Options>,
  cleanUp: () => Promise<void> = async () => {},
): Promise<RunningWorker> {
  const port = await freePort();
  // Miniflare 5 takes a new shape of options; wrangler still speaks the v4 one.
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port,
      // The Worker logs a line per request; a benchmark has no use for them on its stdout.
      handleStructuredLogs: () => {},
      ...workerOptions,
    } as V4Options),
  );
  const url = await mf.ready;
  return {
    url: url.origin,
    async stop() {
      await mf.dispose();
      await cleanUp();
    },
  };
}
