/**
 * Runs a Worker under workerd through Miniflare, with no `wrangler dev` proxy in front,
 * on a free port with a fresh (temporary) store.
 */
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { freePort, PROJECT_ROOT, wranglerBin } from "../lib/dev-server.ts";

export const BENCH_ADMIN_TOKEN = "bench-admin-token";
export const BENCH_QUEUE_SECRET = "bench-queue-secret-0123456789abcdefghij";

export interface RunningWorker {
  url: string;
  /** CPU time the Worker's workerd process has used so far, in ms (user and system). */
  cpuMs(): number;
  /** How many Durable Objects of a class have a database on disk. */
  databases(className: string): Promise<number>;
  /** Calls an RPC method of a Durable Object from Node, as the benchmark's observer. */
  callObject<T>(binding: string, name: string, method: string, ...args: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/** The workerd processes this process has started, by pid. */
function workerdChildren(): Set<number> {
  const children = new Set<number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const [, command, parent] = /^\d+ \((.*)\) \S (\d+)/.exec(readFileSync(`/proc/${entry}/stat`, "utf8")) ?? [];
      if (command === "workerd" && Number(parent) === process.pid) children.add(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

/** A process's CPU time in ms, from /proc (utime and stime, in clock ticks of 10 ms). */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Bundles the project with wrangler (as `wrangler deploy` would) and runs it. With `persist`, its
 * objects' databases are written to disk (slower), so that they can be counted.
 */
export async function startProject({ persist = false }: { persist?: boolean } = {}): Promise<RunningWorker> {
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
      bindings: {
        ...(bindings as Record<string, unknown>),
        ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
        QUEUE_SECRET: BENCH_QUEUE_SECRET,
        RATE_LIMITING: "off",
      },
    },
    () => rm(outdir, { recursive: true, force: true }),
    persist,
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
  onDisk = false,
): Promise<RunningWorker> {
  const port = await freePort();
  const persist = onDisk ? await mkdtemp(join(tmpdir(), "seat-booking-bench-store-")) : undefined;
  const before = workerdChildren();
  // Miniflare 5 takes a new shape of options; wrangler still speaks the v4 one.
  const mf = new Miniflare({
    ...convertV4MiniflareOptions({
      host: "127.0.0.1",
      port,
      // The Worker logs a line per request; a benchmark has no use for them on its stdout.
      handleStructuredLogs: () => {},
      ...workerOptions,
    } as V4Options),
    // On disk when asked, so that the benchmark can count the databases objects leave behind.
    ...(persist ? { resourcePersistencePath: persist } : {}),
  });
  const url = await mf.ready;
  const [pid] = [...workerdChildren()].filter((child) => !before.has(child));
  if (pid === undefined) throw new Error("could not find the workerd process Miniflare started");
  return {
    url: url.origin,
    cpuMs: () => processCpuMs(pid),
    async databases(className) {
      if (persist === undefined) throw new Error("start the Worker with persist to count its databases");
      const dirs = (await readdir(persist, { recursive: true })) as string[];
      // One <hash>.sqlite per object, beside the namespace's own metadata.sqlite.
      return dirs.filter((path) => path.includes(`-${className}/`) && /\/[0-9a-f]{64}\.sqlite$/.test(path)).length;
    },
    async callObject(binding, name, method, ...args) {
      const namespace = (await mf.getDurableObjectNamespace(binding)) as unknown as {
        getByName(name: string): Record<string, (...args: unknown[]) => Promise<unknown>>;
      };
      return (await namespace.getByName(name)[method]!(...args)) as never;
    },
    async stop() {
      await mf.dispose();
      if (persist) await rm(persist, { recursive: true, force: true });
      await cleanUp();
    },
  };
}
