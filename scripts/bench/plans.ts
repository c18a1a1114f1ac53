/**
 * The benchmark's seating-plan scenario: for a show of N seats from a plan, what importing the
 * plan, reading the statuses, picking the best available seats and waking the object cost, each
 * beside its baseline from the same run:
 * - import: the plan (pretix's format, with the editor's extra keys) against a flat list of N seats;
 * - statuses after a change: the compact statuses (what a seat-map read costs the show, the Worker
 *   composing the map from them) against the full seat map built by the object;
 * - best available: a best-available hold against a hold of two named seats, called on the object;
 * - wake: the first booking after the object of a flat show of N seats is evicted, against a
 *   100-seat show's, and the next (warm) booking.
 *
 * Costs inside the object are read as workerd's CPU time (from /proc) over many calls, less the
 * same calls without the work measured; workerd's clock does not advance during a call, so time
 * cannot be read inside it.
 */
import { performance } from "node:perf_hooks";
import { arenaPlan } from "../venues/arena.ts";
import "../lib/source-imports.ts";
import { latencyStats, type Client, type Sample } from "../lib/http-client.ts";
import { ratio } from "./load.ts";
import { BENCH_ADMIN_TOKEN, type RunningWorker } from "./runtime.ts";

export interface PlanRow {
  scenario: string;
  samples: Sample[];
  note: string;
  vsBaseline: string;
}

export interface PlanResults {
  rows: PlanRow[];
  checks: [ok: boolean, message: string][];
  /** Per size: best available's extra CPU per hold, ms, and the statuses' size, bytes. */
  measured: {
    seats: number;
    bestAvailableMs: number;
    searchMs: number;
    statusesBytes: number;
    importMs: number;
    /** The first booking after the object's eviction: its p50, ms, and a 100-seat show's. */
    wakeP50Ms: number;
    smallWakeP50Ms: number;
  }[];
}

/** Best available's budget inside the object, per call, on a 50,000-seat plan (the target). */
export const BEST_AVAILABLE_BUDGET_MS = 5;
/** Holds of each kind per batch, and batches: 250 of each in all. */
const BATCH = 50;
const BATCHES = 5;
const ORIGIN = { route: "bench", actor: "bench" };

export async function planScenario(
  worker: RunningWorker,
  client: Client,
  sizes: number[],
  log: (line: string) => void,
): Promise<PlanResults> {
  const results: PlanResults = { rows: [], checks: [], measured: [] };
  for (const seats of sizes) {
    const label = seats.toLocaleString("en-US");
    log(`▶ plans: a ${label}-seat plan: import, statuses, best available, wake`);
    const plan = arenaPlan({ seats, zones: Math.max(3, Math.round(seats / 15_000)), editorKeys: true });
    const planBody = { name: `Plan ${seats}`, plan, max_seats_per_order: 10 };
    const flat = await timed(worker, () => put(client, `flat-${seats}`, { name: `Flat ${seats}`, seats }));
    const imported = await timed(worker, () => put(client, `plan-${seats}`, planBody));
    const showId = `plan-${seats}`;
    const bytes = JSON.stringify(planBody).length;
    results.rows.push({
      scenario: `plans: import a ${label}-seat plan`,
      samples: [imported.value],
      note: `${(bytes / 1024 / 1024).toFixed(1)} MB body; workerd CPU ${(imported.cpuMs / 1000).toFixed(1)} s`,
      vsBaseline: `${ratio(imported.value.ms, flat.value.ms)} a flat list of ${label} seats`,
    });
    results.checks.push([
      imported.value.status === 201,
      `plans: the ${label}-seat plan imported (${imported.value.status})`,
    ]);

    // Statuses: their size, and their cost in the object after a change, against the full map.
    const statuses = await client.send("GET", `/api/shows/${showId}/statuses`);
    const statusText = (JSON.parse(statuses.body) as { statuses: string }).statuses;
    results.checks.push([
      statusText.length === seats,
      `plans: the statuses have one character per seat (${statusText.length})`,
    ]);
    const map = await client.send("GET", `/api/shows/${showId}/seats`);
    // Seats from the middle of the plan: best available takes the front, the named holds the back.
    const guids = plan.zones.flatMap((zone) => zone.rows.flatMap((row) => row.seats.map((seat) => seat.seat_guid)));
    let booked = Math.floor(seats / 2);
    const booking = () => guids[booked++]!;
    const change = () => worker.callObject("SHOW", showId, "book", [booking()], null, ORIGIN, null);
    const changes = await timed(worker, () => repeat(20, change));
    const withStatuses = await timed(worker, () =>
      repeat(20, async () => (await change(), worker.callObject("SHOW", showId, "statusesJson"))),
    );
    const withMap = await timed(worker, () =>
      repeat(20, async () => (await change(), worker.callObject("SHOW", showId, "seatMapJson"))),
    );
    const statusesCpu = Math.max(0, (withStatuses.cpuMs - changes.cpuMs) / 20);
    const mapCpu = Math.max(0, (withMap.cpuMs - changes.cpuMs) / 20);
    const reads: Sample[] = [];
    for (let i = 0; i < 50; i++) reads.push(await client.send("GET", `/api/shows/${showId}/statuses`));
    const composeMs = await composeTime(worker, showId, reads.at(-1)!.body);
    results.rows.push({
      scenario: `plans: statuses of ${label} seats`,
      samples: reads,
      note: `${kb(statuses.body.length)} (the full seat map: ${kb(map.body.length)}); ~${statusesCpu.toFixed(1)} ms of workerd CPU per call after a change, through Miniflare's proxy (what a seat-map read costs the show), the full map ~${mapCpu.toFixed(1)} ms (what it cost); the Worker composes the map from the statuses and the layout's frame in ~${composeMs.toFixed(1)} ms, once per copy`,
      vsBaseline: `${ratio(statuses.body.length, map.body.length)} the seat map's size`,
    });

    // Best available against a hold of two named seats, called on the object, in alternating
    // batches (the machine is noisy); the extra cost is the median of the batches' differences.
    const named = seatPairs(plan, BATCHES * BATCH);
    let next = 0;
    const holdBest: Sample[] = [];
    const holdNamed: Sample[] = [];
    const extras: number[] = [];
    let bestCpu = 0;
    let namedCpu = 0;
    for (let batch = 0; batch < BATCHES; batch++) {
      const plain = await timed(worker, () =>
        repeatSamples(BATCH, () =>
          worker.callObject("SHOW", showId, "hold", { seatIds: named[next++]! }, null, 600, ORIGIN, null),
        ),
      );
      const best = await timed(worker, () =>
        repeatSamples(BATCH, () =>
          worker.callObject("SHOW", showId, "hold", { best: { count: 2, category: "A" } }, null, 600, ORIGIN, null),
        ),
      );
      holdNamed.push(...plain.value);
      holdBest.push(...best.value);
      namedCpu += plain.cpuMs;
      bestCpu += best.cpuMs;
      extras.push((best.cpuMs - plain.cpuMs) / BATCH);
    }
    const extraMs = Math.max(0, extras.sort((a, b) => a - b)[Math.floor(extras.length / 2)]!);
    const searchMs = await bestBlockTime(plan);
    results.rows.push({
      scenario: `plans: best available of 2 in ${label} seats`,
      samples: holdBest,
      note: `~${extraMs.toFixed(2)} ms of object CPU per hold beyond holding two named seats (median of ${BATCHES} batches); the search alone ${searchMs.toFixed(2)} ms (budget ${BEST_AVAILABLE_BUDGET_MS} ms)`,
      vsBaseline: `CPU ${ratio(bestCpu, namedCpu)} a hold of 2 named seats`,
    });
    results.checks.push([
      [...holdBest, ...holdNamed].every((sample) => sample.status === 201),
      `plans: every hold on the ${label}-seat plan succeeded`,
    ]);
    results.checks.push([
      searchMs <= BEST_AVAILABLE_BUDGET_MS,
      `plans: the best-available search takes at most ${BEST_AVAILABLE_BUDGET_MS} ms on ${label} seats (${searchMs.toFixed(2)} ms)`,
    ]);
    // Waking: the first booking after the object was evicted (its seat index is read back from
    // storage before anything runs), against a 100-seat show's, in alternating pairs. On the flat
    // show of as many seats, which this process has reached only over HTTP: Miniflare will not
    // evict an object it still holds a stub of (callObject's, until they are collected).
    const wakes = await wakeTimes(worker, client, `flat-${seats}`, seats);
    results.rows.push({
      scenario: `plans: the first booking after the object wakes, ${label} seats`,
      samples: wakes.big.samples,
      note: `workerd CPU ~${wakes.big.cpuMs.toFixed(0)} ms a wake and booking (a 100-seat show's ~${wakes.small.cpuMs.toFixed(0)} ms); the next booking, warm: p50 ${latencyStats(wakes.warm).p50.toFixed(1)} ms`,
      vsBaseline: `p50 ${ratio(latencyStats(wakes.big.samples).p50, latencyStats(wakes.small.samples).p50)} a 100-seat show's`,
    });
    results.checks.push([
      [...wakes.big.samples, ...wakes.small.samples, ...wakes.warm].every((sample) => sample.status === 200),
      `plans: every booking after a wake of the ${label}-seat show and of the 100-seat one succeeded`,
    ]);
    results.measured.push({
      seats,
      bestAvailableMs: extraMs,
      searchMs,
      statusesBytes: statuses.body.length,
      importMs: imported.value.ms,
      wakeP50Ms: latencyStats(wakes.big.samples).p50,
      smallWakeP50Ms: latencyStats(wakes.small.samples).p50,
    });
  }
  return results;
}

/** Evictions of each show, taken in turns with a 100-seat show's: enough for a p50 on a noisy machine. */
const WAKES = 10;

/**
 * The first booking after `showId`'s object is evicted, and a 100-seat show's the same way, in
 * turns: each one's latency and the workerd CPU of each wake and booking (mean), and a warm booking
 * of the big show after each of its wakes.
 */
async function wakeTimes(
  worker: RunningWorker,
  client: Client,
  showId: string,
  seats: number,
): Promise<{ big: { samples: Sample[]; cpuMs: number }; small: { samples: Sample[]; cpuMs: number }; warm: Sample[] }> {
  const small = `wake-small-${showId}`;
  await put(client, small, { name: "100 seats", seats: 100 });
  // A tenth of the seats booked, ten an order (a woken show reads back every taken seat's status).
  let seat = 1;
  const nextSeat = () => seat++;
  for (let order = 0; order < seats / 100; order++) {
    const seatIds = Array.from({ length: 10 }, nextSeat);
    await client.send("POST", `/api/shows/${showId}/bookings`, { seat_ids: seatIds });
  }
  const big = { samples: [] as Sample[], cpuMs: 0 };
  const little = { samples: [] as Sample[], cpuMs: 0 };
  const warm: Sample[] = [];
  const book = (show: string, seat: string | number) =>
    client.send("POST", `/api/shows/${show}/bookings`, { seat_ids: [seat] });
  for (let i = 0; i < WAKES; i++) {
    await worker.evict("Show", showId);
    const woken = await timed(worker, () => book(showId, nextSeat()));
    big.samples.push(woken.value);
    big.cpuMs += woken.cpuMs / WAKES;
    warm.push(await book(showId, nextSeat()));
    await worker.evict("Show", small);
    const smallWoken = await timed(worker, () => book(small, i + 1));
    little.samples.push(smallWoken.value);
    little.cpuMs += smallWoken.cpuMs / WAKES;
  }
  return { big, small: little, warm };
}

async function put(client: Client, showId: string, body: unknown): Promise<Sample> {
  const authorization = `Bearer ${BENCH_ADMIN_TOKEN}`;
  return client.send("PUT", `/admin/shows/${showId}`, body, { authorization });
}

/** Runs `work`, and says how much workerd CPU it used. */
async function timed<T>(worker: RunningWorker, work: () => Promise<T>): Promise<{ value: T; cpuMs: number }> {
  const before = worker.cpuMs();
  const value = await work();
  return { value, cpuMs: worker.cpuMs() - before };
}

async function repeat(times: number, work: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < times; i++) await work();
}

/** Calls an object `times` times, one after another, timing each (a hold answers `{ ok }`). */
async function repeatSamples(times: number, call: () => Promise<unknown>): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const result = (await call()) as { ok: boolean; reason?: string };
    samples.push({ status: result.ok ? 201 : 409, ms: performance.now() - started, body: result.reason ?? "" });
  }
  return samples;
}

/** `count` pairs of seats next to each other, from the back rows, that best available will not take first. */
function seatPairs(plan: ReturnType<typeof arenaPlan>, count: number): string[][] {
  const pairs: string[][] = [];
  for (const zone of [...plan.zones].reverse()) {
    for (const row of [...zone.rows].reverse()) {
      for (let i = 0; i + 1 < row.seats.length && pairs.length < count; i += 2) {
        pairs.push([row.seats[i]!.seat_guid, row.seats[i + 1]!.seat_guid]);
      }
    }
  }
  return pairs;
}

/**
 * The search best available runs in the object, timed alone in this process (the same engine, and
 * a clock that runs): the plan's grid with 40% of its seats taken at random, 500 searches for 2.
 */
async function bestBlockTime(plan: unknown): Promise<number> {
  // Imported by computed names, so that the scripts' type check does not take in the Worker's sources.
  const [layoutModule, searchModule] = ["../../src/venue/layout.ts", "../../src/venue/best-available.ts"];
  const { layoutFromPlan } = (await import(layoutModule)) as { layoutFromPlan(plan: unknown): Layout };
  const { seatGrid, bestBlock } = (await import(searchModule)) as Search;
  const layout = layoutFromPlan(plan);
  const names = layout.categories.map((category) => category.name);
  const { grid } = seatGrid(layout.seats, names, layout.focal);
  let state = 1;
  for (let i = 0; i < grid.status.length; i++) {
    state = (state * 48271) % 2147483647;
    grid.status[i] = state % 10 < 4 ? 2 : 0;
  }
  const request = { count: 2, category: names.indexOf("A"), zone: -1 };
  for (let i = 0; i < 50; i++) bestBlock(grid, request);
  const started = performance.now();
  for (let i = 0; i < 500; i++) bestBlock(grid, request);
  return (performance.now() - started) / 500;
}

/**
 * What composing the seat map from a statuses copy and the layout's frame costs the Worker, timed
 * in this process (the same engine, and the same function as the Worker's): ms per map.
 */
async function composeTime(worker: RunningWorker, showId: string, statusesJson: string): Promise<number> {
  const seatMapModule = "../../src/show/seat-map.ts";
  const { seatMapJson } = (await import(seatMapModule)) as {
    seatMapJson(frame: unknown, statuses: string, categories: unknown[]): string;
  };
  const { layout, statuses, categories } = JSON.parse(statusesJson) as {
    layout: number;
    statuses: string;
    categories: unknown[];
  };
  const answer = await worker.callObject<{ ok: boolean; json: string }>("SHOW", showId, "seatFrame", layout);
  const frame: unknown = JSON.parse(answer.json);
  for (let i = 0; i < 5; i++) seatMapJson(frame, statuses, categories);
  const started = performance.now();
  for (let i = 0; i < 20; i++) seatMapJson(frame, statuses, categories);
  return (performance.now() - started) / 20;
}

/** What the search needs of src/venue/ (see `bestBlockTime`). */
interface Layout {
  seats: { zone: string; category: string; x: number; y: number; run: number }[];
  categories: { name: string }[];
  focal: { x: number; y: number };
}
interface Search {
  seatGrid(seats: Layout["seats"], categories: string[], focal: Layout["focal"]): { grid: { status: Uint8Array } };
  bestBlock(grid: { status: Uint8Array }, request: { count: number; category: number; zone: number }): number;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;
