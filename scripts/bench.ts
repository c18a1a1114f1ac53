/**
 * `npm run bench`: measures the project under workerd through Miniflare (no `wrangler dev`
 * proxy), against a floor Worker run the same way, and prints a table (or JSON with --json).
 *
 *   npm run bench -- [--duration 10] [--clients 32] [--hot 1000] [--rounds 2] [--only hot,sale,mixed,holds,map] [--json]
 *
 * Every scenario creates its own shows in a fresh store, and checks its results: the hot
 * seat must have exactly one winner, and after the on-sale run every seat that got a 200
 * must be booked, once, in the seat map. The process exits 1 when a check fails.
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { cpuMeter, runFor } from "./bench/load.ts";
import { Client, latencyStats, statusCounts, type LatencyStats, type Sample } from "./lib/http-client.ts";
import { BENCH_ADMIN_TOKEN, startFloor, startProject, type RunningWorker } from "./bench/runtime.ts";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    clients: { type: "string", default: "32" },
    hot: { type: "string", default: "1000" },
    json: { type: "boolean", default: false },
    only: { type: "string" },
    rounds: { type: "string", default: "2" },
  },
});
/** `--only hot,sale,mixed,holds,map` runs just those scenarios (the floor runs where it is compared). */
const ONLY = new Set((args.only ?? "hot,sale,mixed,holds,map").split(","));
const DURATION = Number(args.duration);
const CLIENTS = Number(args.clients);
const HOT = Number(args.hot);
const ROUNDS = Number(args.rounds);
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
  note: string;
}

const rows: Row[] = [];
const failures: string[] = [];

function check(ok: boolean, message: string): void {
  if (!ok) failures.push(message);
  log(`  ${ok ? "ok" : "FAILED"}: ${message}`);
}

function row(scenario: string, samples: Sample[], wallMs: number | null, cpu: number, note: string): Row {
  const result: Row = {
    scenario,
    requests: samples.length,
    perSecond: wallMs === null ? null : (samples.length / wallMs) * 1000,
    latency: latencyStats(samples),
    statuses: statusCounts(samples),
    clientCpuPercent: cpu,
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

/** K clients book distinct seats across 10 shows for D seconds. */
async function onSale(worker: RunningWorker, label: string, needsShows: boolean): Promise<Row> {
  log(`▶ ${label}: ${CLIENTS} clients booking distinct seats across ${SHOWS} shows for ${DURATION} s`);
  const client = new Client(worker.url, CLIENTS);
  const prefix = `sale-${label.replace(/\W+/g, "-")}`;
  if (needsShows) {
    for (let s = 0; s < SHOWS; s++) await createShow(client, `${prefix}-${s}`, SEATS_PER_SHOW);
  }
  await client.warm(CLIENTS);
  let counter = 0;
  const cpuBefore = worker.cpuMs();
  const run = await runFor(
    client,
    CLIENTS,
    DURATION,
    () => {
      const i = counter++;
      if (i >= SHOWS * SEATS_PER_SHOW) return null;
      const target = { show: `${prefix}-${i % SHOWS}`, seat: Math.floor(i / SHOWS) + 1 };
      return {
        method: "POST",
        path: "/api/book-seat/",
        body: { show_id: target.show, seat_id: target.seat },
        kind: "book",
      };
    },
    progress(label),
  );
  const samples = run.samples.get("book") ?? [];
  const cpuPerBooking = (worker.cpuMs() - cpuBefore) / samples.length;
  log(`  ${label}: workerd CPU ${cpuPerBooking.toFixed(3)} ms per booking`);
  const errors = samples.filter((sample) => sample.status !== 200).length;
  if (needsShows) await verifyEveryBookingOnce(client, prefix, samples);
  await client.close();
  return row(label, samples, run.wallMs, run.cpuPercentOfCore, `${errors} errors`);
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

/** Group holds of 4 seats, distinct, across 10 shows. */
async function holds(worker: RunningWorker): Promise<Row> {
  log(`▶ holds: ${CLIENTS} clients holding 4 distinct seats at a time across ${SHOWS} shows, ${DURATION} s`);
  const client = new Client(worker.url, CLIENTS);
  for (let s = 0; s < SHOWS; s++) await createShow(client, `holds-${s}`, SEATS_PER_SHOW);
  await client.warm(CLIENTS);
  let counter = 0;
  const run = await runFor(
    client,
    CLIENTS,
    DURATION,
    () => {
      const i = counter++;
      const first = Math.floor(i / SHOWS) * 4 + 1;
      if (first + 3 > SEATS_PER_SHOW) return null;
      const seat_ids = [first, first + 1, first + 2, first + 3];
      return { method: "POST", path: `/api/shows/holds-${i % SHOWS}/holds`, body: { seat_ids }, kind: "hold" };
    },
    progress("holds"),
  );
  await client.close();
  const samples = run.samples.get("hold") ?? [];
  check(
    samples.every((sample) => sample.status === 201),
    `holds: every hold succeeded (${JSON.stringify(statusCounts(samples))})`,
  );
  return row("holds (4 seats each)", samples, run.wallMs, run.cpuPercentOfCore, "group holds");
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

// ---- Main -------------------------------------------------------------------------------

log(`Benchmark on ${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node ${process.version}`);
log("Starting the floor Worker and the project (bundled by wrangler) under Miniflare...");
const floor = await startFloor();
const project = await startProject();
const floorHot = ONLY.has("hot") ? await hotSeat(floor, "floor: hot seat", false) : null;
const hot = ONLY.has("hot") ? await hotSeat(project, "hot seat", true) : null;
// The machine is shared and noisy, so the floor and the project take turns, round by round,
// and the ratio is of their totals.
const floorSales: Row[] = [];
const sales: Row[] = [];
for (let round = 1; ONLY.has("sale") && round <= ROUNDS; round++) {
  floorSales.push(await onSale(floor, `floor: on-sale ${round}`, false));
  sales.push(await onSale(project, `on-sale ${round}`, true));
}
await floor.stop();
if (ONLY.has("mixed")) await mixed(project);
if (ONLY.has("holds")) await holds(project);
const { seatMapP50, noopP50 } = ONLY.has("map") ? await seatMapBuild(project) : { seatMapP50: NaN, noopP50: NaN };
await project.stop();

const perSecond = (runs: Row[]) =>
  runs.length === 0 ? null : runs.reduce((sum, run) => sum + (run.perSecond ?? 0), 0) / runs.length;
const sale = perSecond(sales);
const floorSale = perSecond(floorSales);
const ratio = (sale ?? NaN) / (floorSale ?? NaN);
const summary = {
  machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version },
  settings: { durationSeconds: DURATION, clients: CLIENTS, hotSeatRequests: HOT, shows: SHOWS, rounds: ROUNDS },
  onSalePerSecond: { project: sale, floor: floorSale },
  rows,
  onSaleVsFloor: ratio,
  seatMap2000: {
    endToEndP50Ms: seatMapP50,
    noopRequestP50Ms: noopP50,
    estimatedBuildMs: Math.max(0, seatMapP50 - noopP50),
  },
  targets: {
    onSaleAtLeast90PercentOfFloor: ratio >= 0.9,
    hotSeatP99AtMost250Ms: (hot?.latency.p99 ?? Infinity) <= 250,
    seatMapP50AtMost5Ms: seatMapP50 - noopP50 <= 5,
  },
  failures,
};

if (args.json) {
  console.log(JSON.stringify(summary, null, 2));
} else {
  const fmt = (n: number | null, digits = 1) => (n === null ? "-" : n.toFixed(digits));
  const table = [
    ["scenario", "requests", "per s", "p50 ms", "p99 ms", "max ms", "client CPU", "statuses", "note"],
    ...rows.map((r) => [
      r.scenario,
      String(r.requests),
      fmt(r.perSecond, 0),
      fmt(r.latency.p50),
      fmt(r.latency.p99),
      fmt(r.latency.max),
      `${fmt(r.clientCpuPercent, 0)}%`,
      Object.entries(r.statuses)
        .map(([status, count]) => `${status}×${count}`)
        .join(" "),
      r.note,
    ]),
  ];
  const widths = table[0]!.map((_, col) => Math.max(...table.map((line) => line[col]!.length)));
  console.log("");
  for (const [i, line] of table.entries()) {
    console.log(
      line
        .map((cell, col) => (col === 0 || col >= 7 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!)))
        .join("  "),
    );
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
  console.log("");
  if (sale !== null && floorSale !== null) {
    console.log(
      `On-sale throughput: ${fmt(sale, 0)}/s = ${(ratio * 100).toFixed(0)}% of the floor's ${fmt(floorSale, 0)}/s, averaged over ${ROUNDS} alternating rounds (target: at least 90%)`,
    );
  }
  if (hot && floorHot) {
    console.log(
      `Hot seat p99: ${fmt(hot.latency.p99)} ms (target: at most 250 ms); the floor's: ${fmt(floorHot.latency.p99)} ms`,
    );
  }
  if (ONLY.has("map"))
    console.log(
      `Seat map of ${MIXED_SEATS} seats, one client: p50 ${fmt(seatMapP50, 2)} ms end to end, ${fmt(noopP50, 2)} ms for a no-op request, so about ${fmt(Math.max(0, seatMapP50 - noopP50), 2)} ms to build (target: at most 5 ms)`,
    );
  console.log(
    "Client CPU is the load generator's own use, as a percentage of one core: near 100% means the client, not the server, is the limit.",
  );
  console.log(failures.length === 0 ? "All correctness checks passed." : `FAILED: ${failures.join("; ")}`);
}
process.exit(failures.length === 0 ? 0 : 1);
