/**
 * `npm run bench`: measures the project under workerd through Miniflare (no `wrangler dev`
 * proxy), against a floor Worker run the same way, and prints a table (or JSON with --json).
 * Every cost is printed beside its baseline from the same run, as a ratio.
 *
 *   npm run bench -- [--duration 10] [--clients 32] [--hot 1000] [--rounds 2] [--turn 1] [--json]
 *     [--compare <git revision>[,<git revision>...]] [--perf <dir>]
 *     [--only hot,sale,mixed,holds,map,watchers,resync,hostile,readers,list,cleanup,plans,rush]
 *     [--seats 10000] [--watchers 1000] [--readers 1000] [--shows 1000] [--plan-seats 50000,100000]
 *     [--rush-buyers 5000] [--rush-rate 600] [--rush-seconds 20] [--crowds one,split]
 *
 * Every scenario creates its own shows in a fresh store, and checks its results: the hot
 * seat must have exactly one winner, and after the on-sale run every seat that got a 200
 * must be booked, once, in the seat map. The process exits 1 when a check fails.
 */
import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { cpus } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { bookFor, withCrowd, type CrowdMode } from "./bench/crowds.ts";
import { cpuMeter, ratio, runFor } from "./bench/load.ts";
import { Client, latencyStats, statusCounts, type LatencyStats, type Sample } from "./lib/http-client.ts";
import { PROJECT_ROOT } from "./lib/dev-server.ts";
import { BENCH_ADMIN_TOKEN, startFloor, startProject, startSplit, type RunningWorker } from "./bench/runtime.ts";
import { planScenario } from "./bench/plans.ts";
import {
  cpuPerBooking,
  perSecond,
  spread,
  takeTurns,
  turnRatios,
  type Contender,
  type Spread,
  type TurnsResult,
} from "./bench/sale.ts";
import { CATEGORIES, categorize, OTHER } from "./bench/perf-categories.ts";
import { rushScenario } from "./bench/rush.ts";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    clients: { type: "string", default: "32" },
    hot: { type: "string", default: "1000" },
    json: { type: "boolean", default: false },
    only: { type: "string" },
    rounds: { type: "string", default: "2" },
    turn: { type: "string", default: "1" },
    compare: { type: "string" },
    perf: { type: "string" },
    seats: { type: "string", default: "10000" },
    watchers: { type: "string", default: "1000" },
    readers: { type: "string", default: "1000" },
    shows: { type: "string", default: "1000" },
    "plan-seats": { type: "string", default: "50000,100000" },
    "rush-buyers": { type: "string", default: "5000" },
    "rush-rate": { type: "string", default: "600" },
    "rush-seconds": { type: "string", default: "20" },
    crowds: { type: "string", default: "one,split" },
  },
});
const SCENARIOS = "hot,sale,mixed,holds,map,watchers,resync,hostile,readers,list,cleanup,plans,rush";
/** `--only hot,sale,…` runs just those scenarios (the floor runs where it is compared). */
const ONLY = new Set((args.only ?? SCENARIOS).split(","));
/** `--crowds one,split`: run the crowd scenarios in one workerd process, split in two, or both. */
const TOPOLOGIES = new Set(args.crowds.split(","));
if (![...TOPOLOGIES].every((topology) => topology === "one" || topology === "split")) {
  process.stderr.write(`--crowds takes one, split or one,split (got ${args.crowds})\n`);
  process.exit(2);
}
/** Seats of the show the crowd scenarios use, and the size of each crowd. */
const BIG_SHOW = Number(args.seats);
const WATCHERS = Number(args.watchers);
const READERS = Number(args.readers);
const LISTED_SHOWS = Number(args.shows);
/** Seats of the plans the plan scenario imports, reads and picks best seats from. */
const PLAN_SEATS = args["plan-seats"].split(",").map(Number);
/** Connections the bookings beside a crowd, and in its quiet baseline, go over (100 bookings a second in all). */
const BOOKERS = 4;
const DURATION = Number(args.duration);
const CLIENTS = Number(args.clients);
const HOT = Number(args.hot);
/** The on-sale gives each Worker ROUNDS × DURATION seconds, in turns of TURN seconds. */
const ROUNDS = Number(args.rounds);
const TURN = Number(args.turn);
if (!(TURN > 0) || !(ROUNDS > 0) || !(Number(args.duration) > 0)) {
  process.stderr.write(
    `--turn, --rounds and --duration take numbers above 0 (got ${args.turn}, ${args.rounds}, ${args.duration})\n`,
  );
  process.exit(2);
}
/** Revisions of the project measured beside the working tree in the on-sale (`--compare a,b`). */
const REVISIONS = args.compare?.split(",").filter(Boolean) ?? [];
for (const revision of REVISIONS) {
  try {
    execFileSync("git", ["rev-parse", "--verify", "--quiet", `${revision}^{commit}`], {
      cwd: PROJECT_ROOT,
      stdio: "ignore",
    });
  } catch {
    process.stderr.write(`--compare: ${revision} is not a commit of this repository\n`);
    process.exit(2);
  }
}
const SHOWS = 10;
const SEATS_PER_SHOW = 3000;
const MIXED_SEATS = 2000;

/** Progress goes to stderr, so that --json leaves stdout clean. */
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Row {
  scenario: string;
  requests: number;
  perSecond: number | null;
  latency: LatencyStats;
  statuses: Record<string, number>;
  clientCpuPercent: number;
  /** The cost beside its baseline from the same run, e.g. "p99 1.3× quiet". */
  vsBaseline: string;
  note: string;
}

const rows: Row[] = [];
const failures: string[] = [];

function check(ok: boolean, message: string): void {
  if (!ok) failures.push(message);
  log(`  ${ok ? "ok" : "FAILED"}: ${message}`);
}

function row(
  scenario: string,
  samples: Sample[],
  wallMs: number | null,
  cpu: number,
  note: string,
  vsBaseline = "",
): Row {
  const result: Row = {
    scenario,
    requests: samples.length,
    perSecond: wallMs === null ? null : (samples.length / wallMs) * 1000,
    latency: latencyStats(samples),
    statuses: statusCounts(samples),
    clientCpuPercent: cpu,
    vsBaseline,
    note,
  };
  rows.push(result);
  return result;
}

async function createShow(client: Client, showId: string, seats: number): Promise<void> {
  const response = await client.send(
    "PUT",
    `/admin/shows/${showId}`,
    { name: `Bench ${showId}`, seats },
    {
      authorization: `Bearer ${BENCH_ADMIN_TOKEN}`,
    },
  );
  if (response.status !== 201) throw new Error(`could not create show ${showId}: ${response.status} ${response.body}`);
}

const progress = (name: string) => (done: number) => log(`  ${name}: ${done} requests so far`);

// ---- Scenarios --------------------------------------------------------------------------

async function hotSeat(worker: RunningWorker, label: string, needsShow: boolean): Promise<Row> {
  log(`▶ ${label}: ${HOT} simultaneous requests for one seat`);
  const client = new Client(worker.url, HOT);
  const showId = `hot-${label.replace(/\W+/g, "-")}`;
  if (needsShow) await createShow(client, showId, 10);
  await client.warm(HOT);
  const meter = cpuMeter();
  const samples = await Promise.all(
    Array.from({ length: HOT }, (_, i) =>
      client.send("POST", "/api/book-seat/", { show_id: showId, seat_id: 5, user_id: `buyer-${i}` }),
    ),
  );
  const { cpuPercentOfCore } = meter();
  await client.close();
  const counts = statusCounts(samples);
  check(
    counts[200] === 1 && counts[409] === HOT - 1,
    `${label}: exactly one 200 and ${HOT - 1} 409s (got ${JSON.stringify(counts)})`,
  );
  return row(label, samples, null, cpuPercentOfCore, "all at once");
}

/**
 * CLIENTS clients book distinct seats across SHOWS shows: the floor, the audited floor (the floor
 * with an audit row and a hashed booking token per booking, which #10 keeps), the project and, with
 * --compare, the project at each revision named, each in turns of TURN seconds (see bench/sale.ts), for
 * ROUNDS × DURATION seconds each after a warm-up. Rows for each, in that order.
 */
async function onSale(): Promise<{ results: TurnsResult[]; byCategory: CpuByCategory | null }> {
  const turns = Math.max(1, Math.round((ROUNDS * DURATION) / TURN));
  const warmUpSeconds = Math.min(3, DURATION);
  // Seats enough for 4,000 bookings a second: the floor has passed 2,000 here on a fast day.
  const seatsPerShow = Math.max(SEATS_PER_SHOW, Math.ceil((4000 * (turns * TURN + warmUpSeconds)) / SHOWS));
  if (args.perf !== undefined) await mkdir(args.perf, { recursive: true });
  const audited = await startFloor({ audited: true });
  const compared: { revision: string; worker: RunningWorker }[] = [];
  const contenders: Contender[] = [
    { label: "floor: on-sale", worker: floor, needsShows: false },
    { label: "audited floor: on-sale", worker: audited, needsShows: false },
    { label: "on-sale", worker: project, needsShows: true },
  ];
  log(
    `▶ on-sale: ${CLIENTS} clients booking distinct seats across ${SHOWS} shows of ${seatsPerShow} seats; ${contenders.length} Workers take ${turns} turns of ${TURN} s each`,
  );
  try {
    for (const revision of REVISIONS) {
      const worker = await startProject({ revision });
      compared.push({ revision, worker });
      contenders.push({ label: `on-sale at ${revision}`, worker, needsShows: true });
    }
    const results = await takeTurns(contenders, {
      turns,
      turnSeconds: TURN,
      warmUpSeconds,
      clients: CLIENTS,
      shows: SHOWS,
      seatsPerShow,
      createShow,
      ...(args.perf === undefined ? {} : { perfDir: args.perf }),
      verify: verifyEveryBookingOnce,
      log,
    });
    const [floorResult, auditedResult, treeResult] = results as [TurnsResult, TurnsResult, TurnsResult];
    for (const result of results) {
      const errors = result.samples.filter((sample) => sample.status !== 200).length;
      const notes = [`${errors} errors`];
      if (result !== floorResult) notes.push(`turn by turn ${turnRatios(result, floorResult).median.toFixed(2)}×`);
      if (result !== floorResult && result !== auditedResult) {
        notes.push(`${ratio(cpuPerBooking(result), cpuPerBooking(auditedResult))} the audited floor's CPU`);
      }
      // A revision beside the working tree: its CPU as a multiple of the tree's, turn by turn too.
      if (result !== floorResult && result !== auditedResult && result !== treeResult) {
        const byTurn = turnRatios(result, treeResult).median.toFixed(2);
        notes.push(
          `CPU ${ratio(cpuPerBooking(result), cpuPerBooking(treeResult))} the tree's (turn by turn ${byTurn}×)`,
        );
      }
      const vsFloor =
        result === floorResult ? "" : `CPU ${ratio(cpuPerBooking(result), cpuPerBooking(floorResult))} floor`;
      row(result.label, result.samples, result.wallMs, result.clientCpuPercent, notes.join("; "), vsFloor);
    }
    return { results, byCategory: await splitByCategory(results) };
  } finally {
    await audited.stop();
    for (const { worker } of compared) await worker.stop();
  }
}

/** Each Worker's workerd CPU per booking, in µs, by where it ran (see bench/perf-categories.ts). */
type CpuByCategory = Record<string, Record<string, number>>;

/** With --perf, when every Worker was profiled: their CPU split by where it ran; otherwise null. */
async function splitByCategory(results: TurnsResult[]): Promise<CpuByCategory | null> {
  if (!results.every((result) => result.profile !== null)) return null;
  log("  sorting each profile's samples by where they ran (perf script)...");
  const split: CpuByCategory = {};
  try {
    for (const result of results) {
      const shares = await categorize(result.profile!);
      const perBookingUs = cpuPerBooking(result) * 1000;
      split[result.label] = Object.fromEntries([...shares].map(([name, share]) => [name, share * perBookingUs]));
    }
    return split;
  } catch (error) {
    // The profiles stay on disk for perf report; only the split is missing.
    log(`  could not sort the profiles: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/** Every seat that got a 200 is booked in the seat map, and nothing else is. */
async function verifyEveryBookingOnce(client: Client, prefix: string, samples: Sample[]): Promise<void> {
  let booked = 0;
  for (let s = 0; s < SHOWS; s++) {
    const map = JSON.parse((await client.send("GET", `/api/shows/${prefix}-${s}/seats`)).body) as {
      counts: { booked: number };
    };
    booked += map.counts.booked;
  }
  const won = samples.filter((sample) => sample.status === 200);
  const ids = new Set(
    won
      .map((sample) => (JSON.parse(sample.body) as { booking: { show_id: string; seat_id: number } }).booking)
      .map((b) => `${b.show_id}/${b.seat_id}`),
  );
  check(
    ids.size === won.length,
    `on-sale: no seat was sold twice (${won.length} bookings, ${ids.size} distinct seats)`,
  );
  check(
    booked === won.length,
    `on-sale: the seat maps show exactly the ${won.length} seats that got a 200 (they show ${booked})`,
  );
}

/** 90% seat-map reads, 10% bookings, on one 2,000-seat show. */
async function mixed(worker: RunningWorker): Promise<Row[]> {
  log(
    `▶ mixed: ${CLIENTS} clients, 90% seat-map reads and 10% bookings on one ${MIXED_SEATS}-seat show, ${DURATION} s`,
  );
  const client = new Client(worker.url, CLIENTS);
  await createShow(client, "mixed", MIXED_SEATS);
  await client.warm(CLIENTS);
  let nextSeat = 1;
  let turn = 0;
  const run = await runFor(
    client,
    CLIENTS,
    DURATION,
    () =>
      turn++ % 10 === 0 && nextSeat <= MIXED_SEATS
        ? { method: "POST", path: "/api/book-seat/", body: { show_id: "mixed", seat_id: nextSeat++ }, kind: "book" }
        : { method: "GET", path: "/api/shows/mixed/seats", kind: "read" },
    progress("mixed"),
  );
  await client.close();
  return [
    row("mixed: seat-map reads", run.samples.get("read") ?? [], run.wallMs, run.cpuPercentOfCore, "2,000-seat map"),
    row("mixed: bookings", run.samples.get("book") ?? [], run.wallMs, run.cpuPercentOfCore, "same run"),
  ];
}

/** A side of a scenario taken in turns: a process, its load, and what its turns measured. */
interface TurnSide {
  label: string;
  worker: RunningWorker;
  client: Client;
  next: () => { method: "POST"; path: string; body?: unknown; kind: string; headers?: Record<string, string> };
  samples: Sample[];
  wallMs: number;
  clientCpuMs: number;
  cpuMs: number;
}

/**
 * Runs `sides` in turns of TURN seconds, the order reversed every turn, after a warm-up each, and
 * charges each side its workerd process's CPU during its own turns (see bench/sale.ts on turns).
 */
async function inTurns(sides: TurnSide[], kind: string): Promise<void> {
  const turns = Math.max(1, Math.round(DURATION / TURN));
  const turn = (side: TurnSide, seconds: number) => runFor(side.client, CLIENTS, seconds, side.next, () => {});
  for (const side of sides) await turn(side, Math.min(2, DURATION));
  for (let t = 0; t < turns; t++) {
    for (const side of t % 2 === 0 ? sides : [...sides].reverse()) {
      const before = side.worker.cpuMs();
      const run = await turn(side, TURN);
      side.cpuMs += side.worker.cpuMs() - before;
      side.samples.push(...(run.samples.get(kind) ?? []));
      side.wallMs += run.wallMs;
      side.clientCpuMs += (run.cpuPercentOfCore / 100) * run.wallMs;
    }
  }
  for (const side of sides) await side.client.close();
}

/** The address the i-th of a run of requests comes from, `each` requests an address. */
function addressOf(i: number, each: number): string {
  const address = Math.floor(i / each);
  return `10.${(address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`;
}

/**
 * CLIENTS clients hold 4 distinct seats at a time across SHOWS shows, in three project processes
 * that take turns of TURN seconds (the order reversed every turn, as in the on-sale): one with
 * limits per address off, as every other scenario runs; and two with them on, where each address
 * makes four holds on each show (16 seats: never more than one address may hold) and a rate
 * limiter lets every request through, one of them with the limits on seats held and on queue
 * tickets waiting per address off. The third's workerd CPU per hold beside the second's is what
 * the hold limit costs (the hash of the address, the check of what it holds, its index); the
 * second's beside the first's is the rate limiter's, as Miniflare runs it (a call to another
 * Worker; in production it is the location's own counter). Then the second and third take turns
 * at joining a show's queue, four tickets an address: what the limit on tickets waiting per
 * address costs a join (the hash, the count on its index).
 */
async function holds(plain: RunningWorker): Promise<Row[]> {
  const turns = Math.max(1, Math.round(DURATION / TURN));
  const warmUpSeconds = Math.min(2, DURATION);
  // Seats enough for 2,000 holds a second, more than either has made here.
  const seatsPerShow = Math.ceil((2000 * 4 * (turns * TURN + warmUpSeconds)) / SHOWS);
  log(
    `▶ holds: ${CLIENTS} clients holding 4 distinct seats at a time across ${SHOWS} shows of ${seatsPerShow} seats; limits per address off and on, ${turns} turns of ${TURN} s each`,
  );
  const limited = await startProject({
    limitsPerAddress: true,
    vars: { HELD_ORDERS_PER_ADDRESS: "off", QUEUE_TICKETS_PER_ADDRESS: "off" },
  });
  const capped = await startProject({ limitsPerAddress: true });
  try {
    const sides: TurnSide[] = await Promise.all(
      [
        { label: "holds (4 seats each)", worker: plain, byAddress: false },
        { label: "holds, rate limited per address", worker: limited, byAddress: true },
        { label: "holds, and seats held per address limited", worker: capped, byAddress: true },
      ].map(async ({ byAddress, ...side }) => {
        const client = new Client(side.worker.url, CLIENTS);
        for (let s = 0; s < SHOWS; s++) await createShow(client, `holds-${s}`, seatsPerShow);
        await client.warm(CLIENTS);
        let counter = 0;
        const next = () => {
          const i = counter++;
          const first = Math.floor(i / SHOWS) * 4 + 1;
          if (first + 3 > seatsPerShow) throw new Error(`${side.label}: ran out of seats; give it more`);
          // Four holds on each show from each address, then the next address.
          const headers = byAddress ? { "cf-connecting-ip": addressOf(i, 4 * SHOWS) } : undefined;
          const body = { seat_ids: [first, first + 1, first + 2, first + 3] };
          return { method: "POST" as const, path: `/api/shows/holds-${i % SHOWS}/holds`, body, kind: "hold", headers };
        };
        return { ...side, client, next, samples: [], wallMs: 0, clientCpuMs: 0, cpuMs: 0 };
      }),
    );
    await inTurns(sides, "hold");
    const [off, rated, on] = sides as [TurnSide, TurnSide, TurnSide];
    for (const side of sides) {
      check(
        side.samples.every((sample) => sample.status === 201),
        `${side.label}: every hold succeeded (${JSON.stringify(statusCounts(side.samples))})`,
      );
    }
    const perRequest = (side: TurnSide) => side.cpuMs / side.samples.length;
    for (const side of sides) log(`  ${side.label}: workerd CPU ${perRequest(side).toFixed(3)} ms per hold`);
    const p99 = (side: TurnSide) => latencyStats(side.samples).p99;
    const clientCpu = (side: TurnSide) => (side.clientCpuMs / side.wallMs) * 100;
    const [joinsUncapped, joinsCapped] = await joins(limited, capped);
    const sideRow = (side: TurnSide, note: string, vsBaseline?: string) =>
      row(side.label, side.samples, side.wallMs, clientCpu(side), note, vsBaseline);
    return [
      sideRow(off, "group holds; limits per address off"),
      sideRow(
        rated,
        `4 holds a show an address; Miniflare's limiter; p99 ${ratio(p99(rated), p99(off))}`,
        `CPU ${ratio(perRequest(rated), perRequest(off))} the first`,
      ),
      sideRow(
        on,
        `HELD_ORDERS_PER_ADDRESS as in wrangler.toml; p99 ${ratio(p99(on), p99(rated))}`,
        `CPU ${ratio(perRequest(on), perRequest(rated))} rate limited`,
      ),
      sideRow(joinsUncapped, "4 tickets an address; QUEUE_TICKETS_PER_ADDRESS off"),
      sideRow(
        joinsCapped,
        `QUEUE_TICKETS_PER_ADDRESS as in wrangler.toml; p99 ${ratio(p99(joinsCapped), p99(joinsUncapped))}`,
        `CPU ${ratio(perRequest(joinsCapped), perRequest(joinsUncapped))} the first`,
      ),
    ];
  } finally {
    await capped.stop();
    await limited.stop();
  }
}

/** Queue joins in turns, four tickets an address, without and with the limit of tickets waiting per address. */
async function joins(uncapped: RunningWorker, capped: RunningWorker): Promise<[TurnSide, TurnSide]> {
  log(`▶ queue joins: ${CLIENTS} clients joining a show's queue, 4 tickets an address, without and with the limit`);
  const opensAt = new Date(Date.now() + 24 * 3600_000).toISOString();
  const sides: TurnSide[] = await Promise.all(
    [
      { label: "queue joins, rate limited per address", worker: uncapped },
      { label: "queue joins, and tickets waiting per address limited", worker: capped },
    ].map(async (side) => {
      const client = new Client(side.worker.url, CLIENTS);
      await createShow(client, "joins", 10);
      const room = { opens_at: opensAt, admit_per_minute: 60, session_minutes: 10 };
      const admin = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };
      const on = await client.send("PUT", "/admin/shows/joins/waiting-room", room, admin);
      if (on.status !== 201) throw new Error(`${side.label}: could not turn the room on: ${on.status} ${on.body}`);
      await client.warm(CLIENTS);
      let counter = 0;
      const next = () => {
        const headers = { "cf-connecting-ip": addressOf(counter++, 4) };
        return { method: "POST" as const, path: "/api/shows/joins/queue", kind: "join", headers };
      };
      return { ...side, client, next, samples: [], wallMs: 0, clientCpuMs: 0, cpuMs: 0 };
    }),
  );
  await inTurns(sides, "join");
  for (const side of sides) {
    check(
      side.samples.every((sample) => sample.status === 201),
      `${side.label}: every join succeeded (${JSON.stringify(statusCounts(side.samples))})`,
    );
    log(`  ${side.label}: workerd CPU ${(side.cpuMs / side.samples.length).toFixed(3)} ms per join`);
  }
  return sides as [TurnSide, TurnSide];
}

/** One client, one request at a time: the seat map of a 2,000-seat show, against a no-op request. */
async function seatMapBuild(worker: RunningWorker): Promise<{ seatMapP50: number; noopP50: number }> {
  log(`▶ seat map: one client reading a ${MIXED_SEATS}-seat map 300 times, and /healthz 300 times`);
  const client = new Client(worker.url, 1);
  await createShow(client, "map", MIXED_SEATS);
  const time = async (path: string) => {
    const samples: Sample[] = [];
    for (let i = 0; i < 300; i++) samples.push(await client.send("GET", path));
    return latencyStats(samples.slice(50)).p50;
  };
  const noopP50 = await time("/healthz");
  const seatMapP50 = await time("/api/shows/map/seats");
  await client.close();
  return { seatMapP50, noopP50 };
}

/**
 * Where a crowd scenario runs: everything in one workerd process, or split as production spreads
 * it (bench/runtime.ts `startSplit`): the bookings reach the origin, which runs the shows, and the
 * crowd reaches the edge, which runs its own Worker and the live relays.
 */
interface Topology {
  label: string;
  /** The process the bookings are sent to, and that runs the show's object. */
  origin: RunningWorker;
  /** The process the crowd is sent to (the origin itself when not split). */
  edge: RunningWorker;
  /** The CPUs the edge and the crowd are pinned to, when split. */
  edgeCpus?: string;
  /**
   * A floor Worker in a process of its own (pinned with the origin, when split) that the crowd
   * never reaches. It takes the same bookings in each turn, just before or after the project, while
   * the project is booked beside it as in its own turn: what the crowd does to the floor's p99 is
   * this machine's share of the crowd's cost, whatever the project does.
   */
  floor: RunningWorker;
}

/** The two sides of a crowd scenario: bookings with the crowd, and without it. */
type Side = "quiet" | "crowd";

/**
 * A quiet turn that follows a crowd turn waits at least CROWD_SETTLE_MS, and then until neither
 * workerd process used more than a tenth of a core over the last 100 ms (at most
 * CROWD_SETTLE_MAX_MS in all), so that what the crowd left in flight (a batch's fan-out to the
 * watchers, the readers' last polls, frames an attacker left in the connection's buffers) is not
 * counted as quiet. A crowd turn starts at once, with whatever the crowd does as it comes back.
 */
const CROWD_SETTLE_MS = 250;
const CROWD_SETTLE_MAX_MS = 5000;
/**
 * Bookings after an idle gap start cold (here the first few took 20-30 ms where the rest took 4),
 * and the project idles while the floor books, and the other way round: so every timed turn is
 * preceded by this many seconds of untimed bookings of its own.
 */
const WARM_S = 0.2;

async function crowdSettled(workers: RunningWorker[]): Promise<void> {
  const deadline = performance.now() + CROWD_SETTLE_MAX_MS;
  await sleep(CROWD_SETTLE_MS);
  while (performance.now() < deadline) {
    const before = workers.map((worker) => worker.cpuMs());
    await sleep(100);
    // CPU time is counted in ticks of 10 ms: one tick in 100 ms is as idle as it can tell.
    if (workers.every((worker, i) => worker.cpuMs() - before[i]! <= 10)) return;
  }
}

/**
 * A crowd beside the bookings of one big show (see `bookFor`). The bookings take turns of TURN
 * seconds with the crowd and without it (the quiet baseline), DURATION seconds of each, the order
 * reversed every turn, as the on-sale does (see bench/sale.ts): this machine's speed drifts over
 * seconds, and a quiet window followed by a crowd window, as the bench ran them before, landed on
 * different stretches of it. The attacker and the readers are switched on for the crowd's turns
 * and off for the quiet ones; the watchers stay connected, and the quiet turns book an unwatched
 * twin of their show instead, with nothing else different. Every turn, the topology's floor
 * Worker takes the same bookings just before or after the project (see `Topology.floor`).
 */
async function beside(
  { label, origin, edge, edgeCpus, floor }: Topology,
  name: string,
  mode: CrowdMode,
  size: number,
  /** What the crowd is called in the row: "1000 watchers". */
  crowdName = `${size} ${mode}`,
): Promise<{
  loaded: Row;
  crowd: { ready: Record<string, unknown>; result: Record<string, unknown> };
  /** Turns the crowd was on for. */
  turns: number;
}> {
  const client = new Client(origin.url, BOOKERS);
  const floorClient = new Client(floor.url, BOOKERS);
  // The watchers' quiet turns book an unwatched twin; the other crowds' book their own show, from
  // one supply of seats.
  const twin = mode === "watchers";
  const crowdShowId = crowdShow(name, label);
  const shows = { crowd: crowdShowId, quiet: twin ? `${crowdShowId}-unwatched` : crowdShowId };
  const crowdSeats = { next: 1, last: BIG_SHOW };
  const seats = { crowd: crowdSeats, quiet: twin ? { next: 1, last: BIG_SHOW } : crowdSeats };
  await createShow(client, shows.crowd, BIG_SHOW);
  if (twin) await createShow(client, shows.quiet, BIG_SHOW);
  await client.warm(BOOKERS);
  await floorClient.warm(BOOKERS);
  // The floor takes any seat id, once.
  const floorShow = { id: `${crowdShowId}-floor`, seats: { next: 1, last: Number.MAX_SAFE_INTEGER } };
  const floorBookFor = (seconds: number) => bookFor(floorClient, floorShow.id, seconds, floorShow.seats);
  const scenario = `${name}${label}`;
  const turns = Math.max(1, Math.round(DURATION / TURN));
  // A second of bookings on each show first, not timed: no side should pay for a cold start.
  await Promise.all([bookFor(client, shows.crowd, 1, seats.crowd), floorBookFor(1)]);
  if (twin) await bookFor(client, shows.quiet, 1, seats.quiet);
  log(
    `▶ ${scenario}: 100 bookings a second over ${BOOKERS} connections on a ${BIG_SHOW}-seat show, ${turns} turns of ${TURN} s beside ${crowdName} and ${turns} without, in turns, and the same on a floor Worker the crowd never reaches`,
  );
  const meters = sideMeters(origin, edge);
  /** Each side's bookings, turn by turn, and the floor's beside them. */
  const byTurn: Record<Side, Sample[][]> = { quiet: [], crowd: [] };
  const floorByTurn: Record<Side, Sample[][]> = { quiet: [], crowd: [] };
  const crowd = await withCrowd(
    mode,
    edge.url,
    shows.crowd,
    size,
    async (crowdSwitch) => {
      let last: Side | null = null;
      for (let turn = 0; turn < turns; turn++) {
        for (const side of turn % 2 === 0 ? (["quiet", "crowd"] as const) : (["crowd", "quiet"] as const)) {
          if (side === "quiet" && last === "crowd") {
            await crowdSwitch(false);
            await crowdSettled(origin === edge ? [origin] : [origin, edge]);
          }
          // The project's timed bookings, and the floor's, in an order that alternates every turn
          // as well. The project is booked beside the floor too, untimed, so that the crowd does in
          // the floor's turn what it does in the project's (the watchers get the changes).
          for (const who of turn % 2 === 0 ? (["project", "floor"] as const) : (["floor", "project"] as const)) {
            // Each timed turn comes after its own warm-up, and the crowd is switched on between the
            // two, as the turn starts: an attacker whose socket was closed comes back for each
            // timed turn of the crowd's side, the floor's as the project's, and its first burst
            // lands in the turn.
            if (who === "floor") {
              const alongside = (seconds: number) => bookFor(client, shows[side], seconds, seats[side]);
              await Promise.all([floorBookFor(WARM_S), alongside(WARM_S)]);
              await crowdSwitch(side === "crowd");
              const [floors] = await Promise.all([floorBookFor(TURN), alongside(TURN)]);
              floorByTurn[side].push(floors);
            } else {
              await bookFor(client, shows[side], WARM_S, seats[side]);
              await crowdSwitch(side === "crowd");
              const stop = meters.start(side);
              byTurn[side].push(await bookFor(client, shows[side], TURN, seats[side]));
              stop();
            }
          }
          last = side;
        }
      }
      await crowdSwitch(false);
    },
    edgeCpus,
  );
  await client.close();
  await floorClient.close();
  const samples = { quiet: byTurn.quiet.flat(), crowd: byTurn.crowd.flat() };
  const ownRatios = p99Ratios(byTurn);
  const floorRatios = p99Ratios(floorByTurn);
  row(
    `${scenario}: quiet bookings`,
    samples.quiet,
    null,
    NaN,
    mode === "watchers" ? `an unwatched ${BIG_SHOW}-seat show` : `${BIG_SHOW}-seat show`,
  );
  const loaded = row(
    `${scenario}: bookings beside ${crowdName}`,
    samples.crowd,
    null,
    NaN,
    "same show",
    `p99 ${ownRatios.pooled.toFixed(2)}× quiet`,
  );
  row(
    `${scenario}: the floor's bookings beside ${crowdName}`,
    floorByTurn.crowd.flat(),
    null,
    NaN,
    `a floor Worker the crowd never reaches${edgeCpus ? ", pinned with the origin" : ""}, booked just before or after the project each turn, beside untimed bookings of the project; ` +
      `turn by turn, ${byTurnText(floorRatios.byTurn, "its quiet turns")}; its quiet turns' p99 ${latencyStats(floorByTurn.quiet.flat()).p99.toFixed(1)} ms`,
    `p99 ${floorRatios.pooled.toFixed(2)}× quiet`,
  );
  crowdP99s.set(scenario, { ...ownRatios, floor: floorRatios });
  // How busy each workerd process (one thread each) was: split, the origin's figure says what the
  // crowd took from the bookings, and the edge's what the crowd cost on its side.
  loaded.note =
    `turn by turn, ${byTurnText(ownRatios.byTurn, "quiet")}; ` +
    `workerd busy, as a share of a core: quiet ${meters.busy("quiet")}; beside the crowd ${meters.busy("crowd")}`;
  for (const side of ["quiet", "crowd"] as const) {
    check(
      samples[side].length > 0 && samples[side].every((sample) => sample.status === 200),
      `${scenario}: every ${side === "quiet" ? "quiet booking" : "booking beside the crowd"} succeeded (${JSON.stringify(statusCounts(samples[side]))})`,
    );
    const floors = floorByTurn[side].flat();
    check(
      floors.length > 0 && floors.every((sample) => sample.status === 200),
      `${scenario}: every booking of the floor in the ${side} turns succeeded (${JSON.stringify(statusCounts(floors))})`,
    );
    // Turns cut short by a show sold out would measure less than they say.
    check(seats[side].next <= seats[side].last, `${scenario}: the ${side} turns never ran out of seats`);
  }
  return { loaded, crowd, turns };
}

/**
 * Bookings' p99 beside the crowd as a multiple of the quiet p99: pooled over the turns, and turn by
 * turn (each crowd turn's p99 to the quiet turn of the same pair; a stall of the machine in one
 * turn moves the pooled p99 of one side, not the median of these).
 */
interface P99Ratios {
  pooled: number;
  byTurn: Spread;
}

function p99Ratios(byTurn: Record<Side, Sample[][]>): P99Ratios {
  const p99 = (samples: Sample[]) => latencyStats(samples).p99;
  return {
    pooled: p99(byTurn.crowd.flat()) / p99(byTurn.quiet.flat()),
    byTurn: spread(byTurn.crowd.map((turn, t) => p99(turn) / p99(byTurn.quiet[t]!))),
  };
}

/** "median p99 2.10× quiet (quartiles 1.50-2.40×)", with `of` for "quiet". */
const byTurnText = ({ median, low, high }: Spread, of: string) =>
  `median p99 ${median.toFixed(2)}× ${of} (quartiles ${low.toFixed(2)}-${high.toFixed(2)}×)`;

/** Each crowd scenario's p99 ratios, and the floor's in the same turns. */
const crowdP99s = new Map<string, P99Ratios & { floor: P99Ratios }>();

/** The show a crowd scenario books on. */
const crowdShow = (name: string, label: string) => `crowd-${`${name}${label}`.replace(/\W+/g, "-").replace(/-$/, "")}`;

/**
 * How busy the origin (and the edge, when split) were over each side's turns, as a share of one
 * core: each process's CPU over the turns, summed per side, over their wall time.
 */
function sideMeters(origin: RunningWorker, edge: RunningWorker) {
  const workers = edge === origin ? [origin] : [origin, edge];
  const totals: Record<Side, { wallMs: number; cpuMs: number[] }> = {
    quiet: { wallMs: 0, cpuMs: workers.map(() => 0) },
    crowd: { wallMs: 0, cpuMs: workers.map(() => 0) },
  };
  return {
    /** Starts timing a turn of `side`; call what it returns when the turn ends. */
    start(side: Side): () => void {
      const cpuBefore = workers.map((worker) => worker.cpuMs());
      const started = performance.now();
      return () => {
        totals[side].wallMs += performance.now() - started;
        workers.forEach((worker, i) => (totals[side].cpuMs[i]! += worker.cpuMs() - cpuBefore[i]!));
      };
    },
    busy(side: Side): string {
      const [own, other] = totals[side].cpuMs.map((cpuMs) => `${((cpuMs / totals[side].wallMs) * 100).toFixed(0)}%`);
      return other === undefined ? own! : `origin ${own}, edge ${other}`;
    },
  };
}

async function watchersScenario(topology: Topology): Promise<void> {
  const { loaded, crowd } = await beside(topology, "watchers", "watchers", WATCHERS);
  const showId = crowdShow("watchers", topology.label);
  const feed = await topology.origin.callObject<{ batches: number; relayMessages: number; subscriptions: number }>(
    "SHOW",
    showId,
    "stats",
  );
  const connectMs = Number(crowd.ready.connectMs);
  loaded.note =
    `${WATCHERS} connected in ${(connectMs / 1000).toFixed(1)} s; ${crowd.result.messages} messages to watchers, ` +
    `${feed.relayMessages} from the show (${feed.batches} batches; ${feed.subscriptions} relays subscribed); ${loaded.note}`;
  check(
    connectMs <= 10_000,
    `watchers${topology.label}: all ${WATCHERS} connected within 10 s (${(connectMs / 1000).toFixed(1)} s)`,
  );
  check(
    crowd.result.agreeing === WATCHERS,
    `watchers${topology.label}: every watcher ends with the seat map's statuses (${crowd.result.agreeing} of ${WATCHERS})`,
  );
}

async function resyncScenario(topology: Topology): Promise<void> {
  const { loaded, crowd, turns } = await beside(topology, "resync spam", "attacker", 1);
  const { frames, sockets, closeCodes, closed } = attackerReport(crowd.result);
  // A new socket for each timed turn of the crowd's side (the project's and the floor's), unless
  // the last one is still open; at least one a turn.
  loaded.note = `${frames} resync frames sent on ${sockets} sockets, ${closed} closed with 1008; ${loaded.note}`;
  check(
    sockets >= turns && sockets <= 2 * turns && closed === sockets,
    `resync spam${topology.label}: every attacker's socket was closed with 1008 (${JSON.stringify(closeCodes)}, ${sockets} sockets in ${turns} turns)`,
  );
}

/**
 * The attacker who never answers the close: the runtime goes on delivering what it sends to the
 * relay after the relay has closed it with 1008 (it waits for the client's own close frame), so
 * the relay pays for every frame until the connection drops. This measures where that lands.
 */
async function hostileScenario(topology: Topology): Promise<void> {
  const { loaded, crowd, turns } = await beside(
    topology,
    "close ignored",
    "hostile",
    1,
    "1 attacker who ignores the close",
  );
  const { frames, sockets, closeCodes, closed } = attackerReport(crowd.result);
  loaded.note = `${frames} resync frames written on ${sockets} connections (each held through a stretch of crowd turns, then dropped by the attacker), ${closed} told 1008; ${loaded.note}`;
  check(
    sockets > 0 && closed === sockets,
    `close ignored${topology.label}: the server closed every connection with 1008 (${JSON.stringify(closeCodes)}, ${sockets} connections in ${turns} turns)`,
  );
}

/** What an attacker crowd reported: frames sent, sockets opened, their close codes, and how many were told 1008. */
function attackerReport(result: Record<string, unknown>) {
  const { frames, sockets, closeCodes } = result as {
    frames: number;
    sockets: number;
    closeCodes: Record<string, number>;
  };
  return { frames, sockets, closeCodes, closed: closeCodes["1008"] ?? 0 };
}

async function readersScenario(topology: Topology): Promise<void> {
  const showId = crowdShow("readers", topology.label);
  const before = await topology.origin.callObject<{ seatMapReads: number }>("SHOW", showId, "stats").catch(() => null);
  const started = performance.now();
  const { loaded, crowd } = await beside(topology, "readers", "readers", READERS);
  const after = await topology.origin.callObject<{ seatMapReads: number }>("SHOW", showId, "stats");
  const seconds = (performance.now() - started) / 1000;
  const reads = after.seatMapReads - (before?.seatMapReads ?? 0);
  const { full, notModified, bytes, onMs } = crowd.result as {
    full: number;
    notModified: number;
    bytes: number;
    onMs: number;
  };
  const perMap = full > 0 ? `${(bytes / full / 1024).toFixed(0)} KB gzip each` : "none";
  loaded.note = `${full} maps (${perMap}) and ${notModified} 304s served in the ${(onMs / 1000).toFixed(0)} s the crowd was on; the object read ${reads} times in ${seconds.toFixed(0)} s; ${loaded.note}`;
  check(
    reads <= Math.ceil(seconds) * 2,
    `readers${topology.label}: the show's object served about one read a second (${reads} in ${seconds.toFixed(0)} s)`,
  );
}

/** GET /api/shows with many shows: every show exactly once across the pages, and a booking soon in it. */
async function listScenario(worker: RunningWorker): Promise<void> {
  log(`▶ list: ${LISTED_SHOWS} shows, paged 200 at a time`);
  const client = new Client(worker.url, 16);
  const made: string[] = [];
  for (let i = 0; i < LISTED_SHOWS; i += 16) {
    const ids = Array.from({ length: Math.min(16, LISTED_SHOWS - i) }, (_, k) => `list-${i + k}`);
    await Promise.all(ids.map((id) => createShow(client, id, 10)));
    made.push(...ids);
  }
  const listed: string[] = [];
  const pages: Sample[] = [];
  const everyPage = async () => {
    const seen: { show_id: string | number; available: number }[] = [];
    let cursor: string | null = null;
    do {
      const sample = await client.send(
        "GET",
        `/api/shows?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      );
      pages.push(sample);
      const page = JSON.parse(sample.body) as { shows: typeof seen; next_cursor: string | null };
      seen.push(...page.shows);
      cursor = page.next_cursor;
    } while (cursor !== null);
    return seen;
  };
  listed.push(...(await everyPage()).map((show) => String(show.show_id)));
  const mine = listed.filter((id) => id.startsWith("list-"));
  check(
    mine.length === made.length && new Set(mine).size === made.length && made.every((id) => mine.includes(id)),
    `list: paging returned each of the ${made.length} shows exactly once (${mine.length} listed)`,
  );
  const noop: Sample[] = [];
  for (let i = 0; i < 50; i++) noop.push(await client.send("GET", "/healthz"));
  const target = made[Math.floor(made.length / 2)]!;
  await client.send("POST", "/api/book-seat/", { show_id: target, seat_id: 1 });
  const booked = performance.now();
  let seenAfterMs = Infinity;
  while (performance.now() - booked < 10_000) {
    const shows = await everyPage();
    if (shows.find((show) => show.show_id === target)?.available === 9) {
      seenAfterMs = performance.now() - booked;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await client.close();
  check(
    seenAfterMs <= 5000,
    `list: a booking showed in the list within a few seconds (${(seenAfterMs / 1000).toFixed(1)} s)`,
  );
  const p50 = latencyStats(pages).p50;
  row(
    `list: a page of 200 of ${LISTED_SHOWS} shows`,
    pages,
    null,
    NaN,
    `a booking showed after ${(seenAfterMs / 1000).toFixed(1)} s`,
    `p50 ${ratio(p50, latencyStats(noop).p50)} a no-op request`,
  );
}

/** 100 requests for shows that do not exist leave no database behind. */
async function cleanupScenario(): Promise<void> {
  log("▶ cleanup: 100 requests for shows that do not exist, against a store on disk");
  const worker = await startProject({ persist: true });
  const client = new Client(worker.url, 10);
  await createShow(client, "real", 5);
  const before = await worker.databases("Show");
  const samples: Sample[] = [];
  for (let i = 0; i < 100; i += 10) {
    samples.push(
      ...(await Promise.all(
        Array.from({ length: 10 }, (_, k) =>
          k % 2 === 0
            ? client.send("GET", `/api/shows/ghost-${i + k}/seats`)
            : client.send("POST", "/api/book-seat/", { show_id: `ghost-${i + k}`, seat_id: 1 }),
        ),
      )),
    );
  }
  const after = await worker.databases("Show");
  await client.close();
  await worker.stop();
  check(
    samples.every((sample) => sample.status === 404),
    `cleanup: every request for an unknown show got 404 (${JSON.stringify(statusCounts(samples))})`,
  );
  check(after === before, `cleanup: the number of show databases stayed ${before} (now ${after})`);
  row(
    "cleanup: 100 unknown shows",
    samples,
    null,
    NaN,
    `${after - before} new databases`,
    `${before} → ${after} databases`,
  );
}

/** Seating plans of PLAN_SEATS seats: import, statuses, best available and waking (see bench/plans.ts). */
async function plansScenario(worker: RunningWorker): Promise<ReturnType<typeof planScenario>> {
  const client = new Client(worker.url, 1);
  const results = await planScenario(worker, client, PLAN_SEATS, log);
  await client.close();
  for (const { scenario, samples, note, vsBaseline } of results.rows)
    row(scenario, samples, null, NaN, note, vsBaseline);
  for (const [ok, message] of results.checks) check(ok, message);
  return results;
}

/** The waiting room's rush (see bench/rush.ts). */
async function rush(worker: RunningWorker): Promise<ReturnType<typeof rushScenario>> {
  const options = {
    buyers: Number(args["rush-buyers"]),
    admitPerMinute: Number(args["rush-rate"]),
    seconds: Number(args["rush-seconds"]),
    impatient: 20,
  };
  const results = await rushScenario(worker, options, log);
  for (const { scenario, samples, note, vsBaseline } of results.rows)
    row(scenario, samples, null, NaN, note, vsBaseline);
  for (const [ok, message] of results.checks) check(ok, message);
  return results;
}

// ---- Main -------------------------------------------------------------------------------

log(`Benchmark on ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node ${process.version}`);
log("Starting the floor Worker and the project (bundled by wrangler) under Miniflare...");
const floor = await startFloor();
const project = await startProject();
const floorHot = ONLY.has("hot") ? await hotSeat(floor, "floor: hot seat", false) : null;
const hot = ONLY.has("hot") ? await hotSeat(project, "hot seat", true) : null;
// The machine is shared and noisy, so the floor and the project take turns (see bench/sale.ts).
const saleRun = ONLY.has("sale") ? await onSale() : null;
if (ONLY.has("mixed")) await mixed(project);
if (ONLY.has("holds")) await holds(project);
const { seatMapP50, noopP50 } = ONLY.has("map") ? await seatMapBuild(project) : { seatMapP50: NaN, noopP50: NaN };
const crowds = async (topology: Topology) => {
  if (ONLY.has("watchers")) await watchersScenario(topology);
  if (ONLY.has("resync")) await resyncScenario(topology);
  if (ONLY.has("hostile")) await hostileScenario(topology);
  if (ONLY.has("readers")) await readersScenario(topology);
};
const CROWDS = ["watchers", "resync", "hostile", "readers"];
if (CROWDS.some((name) => ONLY.has(name)) && TOPOLOGIES.has("one")) {
  await crowds({ label: "", origin: project, edge: project, floor });
}
await floor.stop();
if (ONLY.has("list")) await listScenario(project);
const plans = ONLY.has("plans") ? await plansScenario(project) : null;
const rushed = ONLY.has("rush") ? await rush(project) : null;
await project.stop();
/** How the split crowd scenarios ran: the CPUs each side had, or null when not pinned. */
let splitCpus: { origin: string; edge: string } | null | undefined;
if (CROWDS.some((name) => ONLY.has(name)) && TOPOLOGIES.has("split")) {
  log(
    "Starting the project split in two processes: the origin (the shows) and the edge (the crowd's Worker, the relays)...",
  );
  const split = await startSplit();
  splitCpus = split.cpus;
  log(
    split.cpus
      ? `  the origin and the bookings' client on CPUs ${split.cpus.origin}, the edge and the crowd on ${split.cpus.edge}`
      : "  not pinned (one CPU, no util-linux taskset, or pinning refused): every process shares every CPU",
  );
  try {
    const { origin, edge, floor: splitFloor, cpus } = split;
    await crowds({ label: " (split)", origin, edge, floor: splitFloor, edgeCpus: cpus?.edge });
  } finally {
    await split.stop();
  }
}
if (ONLY.has("cleanup")) await cleanupScenario();

const [floorSale, auditedSale, sale, ...comparedSales] = saleRun?.results ?? [];
const cpuByCategory = saleRun?.byCategory ?? null;
/** Each revision's figure, by revision, for the JSON (absent without --compare). */
const byRevision = (figure: (result: TurnsResult) => number) =>
  comparedSales.length === 0
    ? {}
    : { compared: Object.fromEntries(comparedSales.map((result, i) => [REVISIONS[i]!, figure(result)])) };
const saleRatio = sale && floorSale ? perSecond(sale) / perSecond(floorSale) : NaN;
/** workerd CPU per booking over every counted turn, the project's against the floor's. */
const cpu =
  sale && floorSale && auditedSale
    ? { project: cpuPerBooking(sale), floor: cpuPerBooking(floorSale), auditedFloor: cpuPerBooking(auditedSale) }
    : null;
const cpuRatio = cpu ? cpu.project / cpu.floor : NaN;
const cpuTurns = sale && floorSale ? turnRatios(sale, floorSale) : null;
const summary = {
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version },
  settings: {
    durationSeconds: DURATION,
    clients: CLIENTS,
    hotSeatRequests: HOT,
    shows: SHOWS,
    rounds: ROUNDS,
    turnSeconds: TURN,
    compare: REVISIONS,
    crowdTopologies: [...TOPOLOGIES],
    // The CPUs of each side of the split (null: not pinned); absent when the split did not run.
    splitCpus,
  },
  onSalePerSecond: {
    project: sale ? perSecond(sale) : null,
    floor: floorSale ? perSecond(floorSale) : null,
    auditedFloor: auditedSale ? perSecond(auditedSale) : null,
    ...byRevision(perSecond),
  },
  rows,
  onSaleVsFloor: saleRatio,
  workerdCpuMsPerBooking: cpu && { ...cpu, ...byRevision(cpuPerBooking) },
  cpuPerBookingVsFloor: cpuRatio,
  // The audited floor's, against the floor's: the least the target can be with what #10 keeps.
  auditedFloorCpuPerBookingVsFloor: cpu ? cpu.auditedFloor / cpu.floor : NaN,
  // The spread of the same ratio over single turns: median and quartiles.
  cpuPerBookingVsFloorByTurn: cpuTurns,
  // Each crowd scenario's p99 beside the crowd as a multiple of quiet, pooled and turn by turn.
  crowdP99VsQuiet: Object.fromEntries(crowdP99s),
  // With --perf: each Worker's CPU per booking in µs, by where it ran.
  workerdCpuUsPerBookingByCategory: cpuByCategory,
  seatMap2000: {
    endToEndP50Ms: seatMapP50,
    noopRequestP50Ms: noopP50,
    estimatedBuildMs: Math.max(0, seatMapP50 - noopP50),
  },
  targets: {
    onSaleAtLeast90PercentOfFloor: saleRatio >= 0.9,
    cpuPerBookingAtMost115PercentOfFloor: cpuRatio <= 1.15,
    hotSeatP99AtMost250Ms: (hot?.latency.p99 ?? Infinity) <= 250,
    seatMapP50AtMost5Ms: seatMapP50 - noopP50 <= 5,
    bestAvailableSearchAtMost5Ms: plans?.measured.every((size) => size.searchMs <= 5) ?? null,
    crowdP99AtMost2xQuiet:
      crowdP99s.size === 0
        ? null
        : Object.fromEntries([...crowdP99s].map(([scenario, { pooled }]) => [scenario, pooled <= 2])),
  },
  plans: plans?.measured ?? null,
  rush: rushed?.measured ?? null,
  failures,
};

if (args.json) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  const fmt = (n: number | null, digits = 1) => (n === null ? "-" : n.toFixed(digits));
  const table = [
    ["scenario", "requests", "per s", "p50 ms", "p99 ms", "max ms", "client CPU", "vs baseline", "statuses", "note"],
    ...rows.map((r) => [
      r.scenario,
      String(r.requests),
      fmt(r.perSecond, 0),
      fmt(r.latency.p50),
      fmt(r.latency.p99),
      fmt(r.latency.max),
      Number.isNaN(r.clientCpuPercent) ? "-" : `${fmt(r.clientCpuPercent, 0)}%`,
      r.vsBaseline,
      Object.entries(r.statuses)
        .map(([status, count]) => `${status}×${count}`)
        .join(" "),
      r.note,
    ]),
  ];
  printTable(table, { rule: true, leftAligned: (col) => col === 0 || col >= 8 });
  if (sale && floorSale && cpu && cpuTurns) {
    const counted = `${sale.turnCpuPerBooking.length} turns of ${TURN} s each, taken in turns with the floor after a warm-up`;
    console.log(
      `On-sale throughput: ${fmt(perSecond(sale), 0)}/s = ${(saleRatio * 100).toFixed(0)}% of the floor's ${fmt(perSecond(floorSale), 0)}/s, over ${counted} (target: at least 90%)`,
    );
    console.log(
      `workerd CPU per booking: ${fmt(cpu.project, 3)} ms = ${cpuRatio.toFixed(2)}× the floor's ${fmt(cpu.floor, 3)} ms, over the same turns; turn by turn, median ${cpuTurns.median.toFixed(2)}× (quartiles ${cpuTurns.low.toFixed(2)}-${cpuTurns.high.toFixed(2)}×) (target: at most 1.15×)`,
    );
    if (auditedSale) {
      const throughput = (of: TurnsResult) => `${((perSecond(of) / perSecond(floorSale)) * 100).toFixed(0)}%`;
      console.log(
        `The audited floor (the floor plus an audit row and a hashed booking token per booking): ${fmt(cpu.auditedFloor, 3)} ms = ${(cpu.auditedFloor / cpu.floor).toFixed(2)}× the floor's; the project ${(cpu.project / cpu.auditedFloor).toFixed(2)}× it. Throughput: the audited floor ${throughput(auditedSale)} of the floor's, the project ${((perSecond(sale) / perSecond(auditedSale)) * 100).toFixed(0)}% of the audited floor's`,
      );
    }
  }
  if (cpuByCategory) {
    const profiled = Object.keys(cpuByCategory);
    const categories = [...CATEGORIES.map(([name]) => name), OTHER];
    const lines = [
      ["workerd CPU per booking, µs, by where it ran (perf)", ...profiled],
      ...categories.map((name) => [name, ...profiled.map((label) => fmt(cpuByCategory[label]![name] ?? 0, 0))]),
    ];
    printTable(lines, { rule: false, leftAligned: (col) => col === 0 });
  }
  if (hot && floorHot) {
    console.log(
      `Hot seat p99: ${fmt(hot.latency.p99)} ms (target: at most 250 ms); the floor's: ${fmt(floorHot.latency.p99)} ms`,
    );
  }
  if (crowdP99s.size > 0) {
    const each = [...crowdP99s]
      .map(
        ([scenario, { pooled, byTurn, floor }]) =>
          `${scenario} ${pooled.toFixed(2)}× (by turn ${byTurn.median.toFixed(2)}×; the floor ${floor.pooled.toFixed(2)}×, by turn ${floor.byTurn.median.toFixed(2)}×)`,
      )
      .join(", ");
    console.log(
      `Bookings' p99 beside each crowd, as a multiple of quiet in the same topology, pooled over the turns (target: at most 2×) and by turn (the median of each pair of turns' ratio), with a floor Worker's that the crowd never reaches, booked beside the project in each turn (this machine's own share): ${each}`,
    );
  }
  if (ONLY.has("map"))
    console.log(
      `Seat map of ${MIXED_SEATS} seats, one client: p50 ${fmt(seatMapP50, 2)} ms end to end, ${fmt(noopP50, 2)} ms for a no-op request, so about ${fmt(Math.max(0, seatMapP50 - noopP50), 2)} ms to build (target: at most 5 ms)`,
    );
  for (const size of plans?.measured ?? []) {
    console.log(
      `Plan of ${size.seats} seats: imported in ${fmt(size.importMs / 1000, 1)} s; statuses ${fmt(size.statusesBytes / 1024, 0)} KB; best available: the search ${fmt(size.searchMs, 2)} ms, ~${fmt(size.bestAvailableMs, 2)} ms of object CPU per hold beyond a plain hold (target: at most 5 ms); the first booking after a ${size.seats}-seat show's object wakes p50 ${fmt(size.wakeP50Ms, 1)} ms (a 100-seat show's ${fmt(size.smallWakeP50Ms, 1)} ms)`,
    );
  }
  if (rushed) {
    const { buyers, joinSeconds, admittedPerMinute, pollsPerSecond } = rushed.measured;
    console.log(
      `Waiting room: ${buyers} buyers' joins, sent at once at opening, all answered in ${fmt(joinSeconds, 2)} s; admitted ${fmt(admittedPerMinute, 0)} a minute (set: ${args["rush-rate"]}); ${fmt(pollsPerSecond, 0)} polls a second while they waited`,
    );
  }
  console.log(
    "Client CPU is the load generator's own use, as a percentage of one core: near 100% means the client, not the server, is the limit.",
  );
  console.log(failures.length === 0 ? "All correctness checks passed." : `FAILED: ${failures.join("; ")}`);
}
process.exit(failures.length === 0 ? 0 : 1);

/** A table in columns as wide as their widest cell, between blank lines; `rule` draws a line under the first. */
function printTable(
  lines: string[][],
  { rule, leftAligned }: { rule: boolean; leftAligned: (col: number) => boolean },
) {
  const widths = lines[0]!.map((_, col) => Math.max(...lines.map((line) => line[col]!.length)));
  console.log("");
  for (const [i, line] of lines.entries()) {
    console.log(
      line.map((cell, col) => (leftAligned(col) ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join("  "),
    );
    if (rule && i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
  console.log("");
}
