/**
 * Runs a Worker under workerd through Miniflare, with no `wrangler dev` proxy in front,
 * on a free port with a fresh (temporary) store.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
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
  /** The workerd process's id. */
  pid: number;
  /** CPU time the Worker's workerd process has used so far, in ms (user and system). */
  cpuMs(): number;
  /** How many Durable Objects of a class have a database on disk. */
  databases(className: string): Promise<number>;
  /** Calls an RPC method of a Durable Object from Node, as the benchmark's observer. */
  callObject<T>(binding: string, name: string, method: string, ...args: unknown[]): Promise<T>;
  /** Evicts a Durable Object of a class (by name), as the runtime does an idle one: its next call wakes it. */
  evict(className: string, name: string): Promise<void>;
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

interface ProjectOptions {
  /** Write the objects' databases to disk (slower), so that they can be counted. */
  persist?: boolean;
  /** The Worker's name, by which another process's bindings find its classes. */
  name?: string;
  /** A dev registry directory shared with other workerd processes. */
  registry?: string;
  /** Durable Object bindings whose class lives in another process's Worker: binding → Worker name. */
  elsewhere?: Record<string, string>;
  /** The checkout whose wrangler.toml configures the bundle. */
  root?: string;
  /**
   * Limits per address on (RATE_LIMITING = "on"), with a rate limiter that never refuses, so that
   * what is measured is the per-address limits' own work (a hold's check of what its address holds).
   */
  limitsPerAddress?: boolean;
  /** Vars set over wrangler.toml's. */
  vars?: Record<string, string>;
}

/**
 * Bundles the project with wrangler (as `wrangler deploy` would) and runs it: the working tree, or
 * with `revision` the project as committed there (a git revision; built from a copy of its files,
 * with this checkout's node_modules), so that two versions can be measured in one run.
 */
export async function startProject({
  persist = false,
  revision,
  limitsPerAddress = false,
  vars = {},
}: {
  persist?: boolean;
  revision?: string;
  limitsPerAddress?: boolean;
  vars?: Record<string, string>;
} = {}): Promise<RunningWorker> {
  const outdir = await mkdtemp(join(tmpdir(), "seat-booking-bench-"));
  const root = revision === undefined ? PROJECT_ROOT : await mkdtemp(join(tmpdir(), "seat-booking-bench-revision-"));
  const removeFiles = async () => {
    await rm(outdir, { recursive: true, force: true });
    if (root !== PROJECT_ROOT) await rm(root, { recursive: true, force: true });
  };
  try {
    if (revision !== undefined) await checkOut(revision, root);
    await bundle(outdir, root);
    return await startBundle(outdir, { persist, root, limitsPerAddress, vars }, removeFiles);
  } catch (error) {
    await removeFiles();
    throw error;
  }
}

/** The files of `revision` in `dir`, with this checkout's node_modules beside them. */
async function checkOut(revision: string, dir: string): Promise<void> {
  await promisify(execFile)("sh", ["-c", 'git archive --format=tar "$1" | tar -x -C "$2"', "sh", revision, dir], {
    cwd: PROJECT_ROOT,
  });
  await symlink(join(PROJECT_ROOT, "node_modules"), join(dir, "node_modules"));
}

/** Writes the bundle `wrangler deploy` would upload into `outdir`. */
async function bundle(outdir: string, root = PROJECT_ROOT): Promise<void> {
  await promisify(execFile)(process.execPath, [wranglerBin(), "deploy", "--dry-run", "--outdir", outdir], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
}

/** The project split in two workerd processes (see `startSplit`). */
export interface Split {
  origin: RunningWorker;
  edge: RunningWorker;
  /**
   * A floor Worker in a third process, pinned with the origin, that nothing but its own bookings
   * reaches: what a crowd on the edge's CPUs does to it is this machine's share of a crowd's cost.
   */
  floor: RunningWorker;
  /**
   * The CPUs (`taskset` lists) the origin, with the floor and this process (the bookings' client),
   * and the edge, with the crowd, are pinned to; null when every process shares every CPU.
   */
  cpus: { origin: string; edge: string } | null;
  /** Stops the three processes and gives this process back the CPUs it had. */
  stop(): Promise<void>;
}

/**
 * The project in two workerd processes, as production spreads a show's load: the origin runs the
 * Worker the bookings reach, the shows, the catalog and the waiting rooms; the edge runs the
 * Worker a crowd reaches and the live relays. Each reaches the other's objects through a dev
 * registry, as `wrangler dev` sessions do: a call goes through a proxy object in the caller's
 * process and workerd's debug port, over local TCP. Locally one workerd process runs every
 * isolate on one thread, so a crowd's requests queue in front of the bookings whatever the show
 * does; split, what reaches the origin is what the crowd makes the show itself do (about one read
 * a second, a message per relay per batch). It measures that, not whether one edge process can
 * carry the crowd. Where it can, the sides are pinned to halves of this process's CPUs.
 */
export async function startSplit(): Promise<Split> {
  const outdir = await mkdtemp(join(tmpdir(), "seat-booking-bench-"));
  const registry = await mkdtemp(join(tmpdir(), "seat-booking-bench-registry-"));
  const removeFiles = async () => {
    await rm(outdir, { recursive: true, force: true });
    await rm(registry, { recursive: true, force: true });
  };
  // Names of this run alone, so that no other session in a registry (a developer's wrangler dev,
  // say, where CLOUDFLARE_DEV_REGISTRY_PATH points Miniflare elsewhere) can answer for them.
  const run = randomUUID().slice(0, 8);
  const names = { origin: `seat-booking-origin-${run}`, edge: `seat-booking-edge-${run}` };
  const started: RunningWorker[] = [];
  try {
    await bundle(outdir);
    const origin = await startBundle(outdir, { name: names.origin, registry, elsewhere: { RELAY: names.edge } });
    started.push(origin);
    const atOrigin = {
      SHOW: names.origin,
      CATALOG: names.origin,
      WAITING_ROOM: names.origin,
      QUEUE_SHARD: names.origin,
    };
    const edge = await startBundle(outdir, { name: names.edge, registry, elsewhere: atOrigin });
    started.push(edge);
    const floor = await startFloor();
    started.push(floor);
    const own = await allowedCpus();
    const halves = own !== null && own.length >= 2 && (await hasTaskset()) ? halvesOf(own) : null;
    const pinned =
      halves !== null &&
      (await pin(process.pid, halves.origin)) &&
      (await pin(origin.pid, halves.origin)) &&
      (await pin(floor.pid, halves.origin)) &&
      (await pin(edge.pid, halves.edge));
    // Where the machine will not pin (a container's CPU set, say), every process shares every CPU.
    if (halves !== null && !pinned)
      for (const pid of [process.pid, origin.pid, floor.pid, edge.pid]) await pin(pid, own!.join(","));
    return {
      origin,
      edge,
      floor,
      cpus: pinned ? halves : null,
      async stop() {
        if (pinned) await pin(process.pid, own!.join(","));
        await floor.stop();
        await edge.stop();
        await origin.stop();
        await removeFiles();
      },
    };
  } catch (error) {
    for (const worker of started.reverse()) await worker.stop();
    await removeFiles();
    throw error;
  }
}

/** This process's CPUs (from /proc, as its CPU set and affinity allow), or null where it cannot say. */
async function allowedCpus(): Promise<number[] | null> {
  try {
    const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(await readFile("/proc/self/status", "utf8"))?.[1];
    if (list === undefined) return null;
    return list.split(",").flatMap((part) => {
      const [from, to = from] = part.split("-").map(Number) as [number, number?];
      return Array.from({ length: to! - from + 1 }, (_, i) => from + i);
    });
  } catch {
    return null;
  }
}

/** The first half of the CPUs for the origin, the rest for the edge, as `taskset` lists. */
function halvesOf(cpuNumbers: number[]): { origin: string; edge: string } {
  const half = Math.floor(cpuNumbers.length / 2);
  return { origin: cpuNumbers.slice(0, half).join(","), edge: cpuNumbers.slice(half).join(",") };
}

/** Whether util-linux's `taskset` is on the PATH (BusyBox's lacks the options used here). */
async function hasTaskset(): Promise<boolean> {
  try {
    const { stdout } = await promisify(execFile)("taskset", ["--version"]);
    return stdout.includes("util-linux");
  } catch {
    return false;
  }
}

/** Pins every thread of a process to `cpuList` (a `taskset` list such as "0" or "2,3"); false when refused. */
async function pin(pid: number, cpuList: string): Promise<boolean> {
  try {
    await promisify(execFile)("taskset", ["--all-tasks", "--cpu-list", "--pid", cpuList, String(pid)]);
    return true;
  } catch {
    return false;
  }
}

async function startBundle(
  outdir: string,
  {
    persist = false,
    name,
    registry,
    elsewhere = {},
    root = PROJECT_ROOT,
    limitsPerAddress = false,
    vars = {},
  }: ProjectOptions,
  cleanUp?: () => Promise<void>,
): Promise<RunningWorker> {
  // Compatibility settings, Durable Objects and vars as wrangler.toml gives them. The static
  // assets are left out: the API never reaches them, and the floor has none.
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml"));
  const { compatibilityDate, compatibilityFlags, durableObjects, bindings } = workerOptions as Record<string, unknown>;
  const objects = { ...(durableObjects as Record<string, Record<string, unknown>>) };
  for (const [binding, scriptName] of Object.entries(elsewhere)) objects[binding] = { ...objects[binding], scriptName };
  return start(
    {
      ...(name ? { name } : {}),
      ...(registry ? { unsafeDevRegistryPath: registry } : {}),
      modules: true,
      scriptPath: join(outdir, "index.js"),
      modulesRoot: outdir,
      compatibilityDate,
      compatibilityFlags,
      durableObjects: objects,
      // The load comes from one address: rate limiting would measure the limiter, not the service.
      // With limitsPerAddress, each client names its own address, and the limiter lets all through.
      bindings: {
        ...(bindings as Record<string, unknown>),
        ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
        QUEUE_SECRET: BENCH_QUEUE_SECRET,
        RATE_LIMITING: limitsPerAddress ? "on" : "off",
        ...vars,
      },
      ...(limitsPerAddress
        ? {
            ratelimits: {
              BOOKING_RATE_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000_000, period: 60 } },
            },
          }
        : {}),
    },
    cleanUp,
    persist,
  );
}

/**
 * The floor Worker (scripts/bench/floor-worker.js), run the same way; or, `audited`, the floor
 * with an audit row and a hashed booking token per booking (audited-floor-worker.js).
 */
export async function startFloor({ audited = false }: { audited?: boolean } = {}): Promise<RunningWorker> {
  return start({
    modules: true,
    scriptPath: join(dirname(fileURLToPath(import.meta.url)), audited ? "audited-floor-worker.js" : "floor-worker.js"),
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
    pid,
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
    async evict(className, name) {
      const scriptName = (workerOptions as { name?: string }).name ?? "";
      await mf.unsafeEvictDurableObject(scriptName, className, { name });
    },
    async stop() {
      await mf.dispose();
      if (persist) await rm(persist, { recursive: true, force: true });
      await cleanUp();
    },
  };
}
