/**
 * The on-sale, taken in turns: several Workers (the floor, the project, and with `--compare` the
 * project at another revision) each get a pool of warm connections and book distinct seats, one
 * Worker at a time, in short turns (one second by default), the order reversed every turn.
 *
 * Why turns: this machine's speed drifts by tens of percent over seconds (other tenants, two
 * cores shared with the load generator), and two 10 s rounds land on different stretches of it;
 * single rounds gave CPU ratios from 0.90× to 1.67× for one build. Turns of a second put every
 * Worker on the same stretches. Each Worker's CPU is its workerd process's CPU from the first
 * counted turn to a settle after the last, so work a turn leaves behind (a show's coalesced
 * summary push, say) is charged to whoever made it, whatever turn it runs in.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Client, type Sample } from "../lib/http-client.ts";
import { runFor } from "./load.ts";
import type { RunningWorker } from "./runtime.ts";

export interface Contender {
  label: string;
  worker: RunningWorker;
  /** Whether its shows must be created first (the floor's need not). */
  needsShows: boolean;
}

export interface TurnsResult {
  label: string;
  /** Every booking of the counted turns. */
  samples: Sample[];
  /** Wall time of the counted turns, summed. */
  wallMs: number;
  /** The load generator's CPU during the counted turns, as a percentage of one core. */
  clientCpuPercent: number;
  /** workerd CPU from the first counted turn to the settle after the last, in ms. */
  cpuMs: number;
  /** workerd CPU per booking of each counted turn, in ms (for the spread between turns). */
  turnCpuPerBooking: number[];
  /** The perf profile of its workerd process over the counted turns, when one was asked for and made. */
  profile: string | null;
}

export interface TurnsOptions {
  turns: number;
  turnSeconds: number;
  warmUpSeconds: number;
  clients: number;
  shows: number;
  seatsPerShow: number;
  /** Creates a show on a Worker that needs one. */
  createShow(client: Client, showId: string, seats: number): Promise<void>;
  /** Where to write a `perf record` profile of each Worker's workerd process over the counted turns, if anywhere. */
  perfDir?: string;
  /** Checks the bookings a Worker made (warm-up included) against its seat maps. */
  verify(client: Client, prefix: string, samples: Sample[]): Promise<void>;
  log(line: string): void;
}

/** A Worker's label as it can stand in a show id or a file name. */
const slug = (label: string) => label.replace(/\W+/g, "-");

/** How long to wait after the last turn for work it left behind (pushes are coalesced to a second). */
const SETTLE_MS = 1500;

export async function takeTurns(contenders: Contender[], options: TurnsOptions): Promise<TurnsResult[]> {
  const { turns, turnSeconds, warmUpSeconds, clients, shows, seatsPerShow, log } = options;
  const sides = await Promise.all(
    contenders.map(async (contender) => {
      const client = new Client(contender.worker.url, clients);
      const prefix = `sale-${slug(contender.label)}`;
      if (contender.needsShows) {
        for (let s = 0; s < shows; s++) await options.createShow(client, `${prefix}-${s}`, seatsPerShow);
      }
      await client.warm(clients);
      let counter = 0;
      const next = () => {
        const i = counter++;
        if (i >= shows * seatsPerShow) throw new Error(`${contender.label}: ran out of seats; give it more`);
        const body = { show_id: `${prefix}-${i % shows}`, seat_id: Math.floor(i / shows) + 1 };
        return { method: "POST" as const, path: "/api/book-seat/", body, kind: "book" };
      };
      return { contender, client, prefix, next, everyBooking: [] as Sample[] };
    }),
  );
  const turn = async (side: (typeof sides)[number], seconds: number) => {
    const run = await runFor(side.client, clients, seconds, side.next, () => {});
    const samples = run.samples.get("book") ?? [];
    side.everyBooking.push(...samples);
    return { samples, wallMs: run.wallMs, clientCpuMs: (run.cpuPercentOfCore / 100) * run.wallMs };
  };

  // A process's first seconds are its slowest: each Worker books for a while first, not counted.
  log(`  warming up: ${warmUpSeconds} s each, not counted`);
  for (const side of sides) await turn(side, warmUpSeconds);

  const results = sides.map(({ contender }) => ({
    label: contender.label,
    samples: [] as Sample[],
    wallMs: 0,
    clientCpuMs: 0,
    turnCpuPerBooking: [] as number[],
    cpuAtStart: contender.worker.cpuMs(),
  }));
  const profiles =
    options.perfDir === undefined ? [] : sides.map(({ contender }) => profile(contender, options.perfDir!));
  const started = performance.now();
  for (let t = 0; t < turns; t++) {
    const order = t % 2 === 0 ? sides.keys() : [...sides.keys()].reverse().values();
    for (const index of order) {
      const side = sides[index]!;
      const before = side.contender.worker.cpuMs();
      const { samples, wallMs, clientCpuMs } = await turn(side, turnSeconds);
      const result = results[index]!;
      result.samples.push(...samples);
      result.wallMs += wallMs;
      result.clientCpuMs += clientCpuMs;
      result.turnCpuPerBooking.push((side.contender.worker.cpuMs() - before) / samples.length);
    }
    if ((t + 1) % 10 === 0 || t + 1 === turns) {
      log(`  ${t + 1} of ${turns} turns each, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const profileFiles: (string | null)[] = [];
  for (const recording of profiles) {
    const { file, message } = await recording.stop();
    log(`  ${message}`);
    profileFiles.push(file);
  }

  // Every process's CPU is read before any seat map is, so that the checks are not counted.
  const cpuMs = sides.map((side, index) => side.contender.worker.cpuMs() - results[index]!.cpuAtStart);
  for (const [index, side] of sides.entries()) {
    const result = results[index]!;
    log(`  ${result.label}: workerd CPU ${(cpuMs[index]! / result.samples.length).toFixed(3)} ms per booking`);
    if (side.contender.needsShows) await options.verify(side.client, side.prefix, side.everyBooking);
    await side.client.close();
  }
  return results.map(({ cpuAtStart: _, clientCpuMs, ...result }, index) => ({
    ...result,
    clientCpuPercent: (clientCpuMs / result.wallMs) * 100,
    cpuMs: cpuMs[index]!,
    profile: profileFiles[index] ?? null,
  }));
}

/** workerd CPU per booking over a Worker's counted turns, in ms. */
export function cpuPerBooking(result: TurnsResult): number {
  return result.cpuMs / result.samples.length;
}

/** Bookings a second over a Worker's counted turns. */
export function perSecond(result: TurnsResult): number {
  return (result.samples.length / result.wallMs) * 1000;
}

/** The median of each turn's ratio of one Worker's CPU per booking to another's, and its quartiles. */
export function turnRatios(of: TurnsResult, to: TurnsResult): Spread {
  return spread(of.turnCpuPerBooking.map((value, t) => value / to.turnCpuPerBooking[t]!));
}

export interface Spread {
  median: number;
  low: number;
  high: number;
}

/** The median of some values and their quartiles. */
export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), low: at(0.25), high: at(0.75) };
}

/**
 * `perf record` on a Worker's workerd process (all its threads, call graphs, 499 samples a
 * second) until `stop`, into `<dir>/<label>.data`; `stop` says where it went, or why it did not.
 */
function profile(contender: Contender, dir: string): { stop(): Promise<{ file: string | null; message: string }> } {
  const file = join(dir, `${slug(contender.label)}.data`);
  const perf = spawn("perf", ["record", "-F", "499", "-g", "-p", String(contender.worker.pid), "-o", file], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let errors = "";
  perf.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  const exited = once(perf, "exit").catch(() => [null]);
  let failed: string | null = null;
  perf.on("error", (error) => (failed = error.message));
  return {
    async stop() {
      perf.kill("SIGINT");
      const [code] = await exited;
      const refused = (why: string) => ({ file: null, message: `${contender.label}: no profile (${why})` });
      if (failed !== null) return refused(failed);
      // perf ends on the signal it was sent, having written its file: it says so last.
      if (!errors.includes("Captured and wrote")) {
        return refused(`perf exited ${code}: ${errors.trim().split("\n").at(-1)}`);
      }
      return { file, message: `${contender.label}: profile in ${file} (perf report -i ${file} --children)` };
    },
  };
}
