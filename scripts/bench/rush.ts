/**
 * The benchmark's waiting-room scenario, "the rush": BUYERS simulated buyers join a show's queue
 * within a second of its opening, then each polls as it is told (Retry-After) and, once admitted,
 * books one seat with its pass; meanwhile IMPATIENT buyers try to book without one, every second.
 * It checks what the issue asks:
 * - every buyer gets a ticket, and no answer anywhere is a 5xx;
 * - admission runs at `admit_per_minute`, within 10 %, measured from the room's own count;
 * - admission order equals join order (the shards' tickets, by their place);
 * - the show's object hears only from admitted buyers: its order count equals the bookings sent
 *   with a pass, and none came without one.
 * Beside their baselines: joining against a no-op request, and a booking with a pass against one
 * on the same kind of show with no waiting room.
 */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { Client, latencyStats, type Sample } from "../lib/http-client.ts";
import { ratio } from "./load.ts";
import { BENCH_ADMIN_TOKEN, type RunningWorker } from "./runtime.ts";

export interface RushOptions {
  buyers: number;
  admitPerMinute: number;
  /** How long admission is watched after the rush, in seconds. */
  seconds: number;
  impatient: number;
}

export interface RushResults {
  rows: { scenario: string; samples: Sample[]; note: string; vsBaseline: string }[];
  checks: [ok: boolean, message: string][];
  measured: {
    buyers: number;
    joinSeconds: number;
    cpuPerJoinMs: number;
    admittedPerMinute: number;
    pollsPerSecond: number;
  };
}

const SHOW = "rush";
const PLAIN = "rush-no-room";
const admin = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };

export async function rushScenario(
  worker: RunningWorker,
  options: RushOptions,
  log: (line: string) => void,
): Promise<RushResults> {
  const { buyers, admitPerMinute, seconds, impatient } = options;
  const client = new Client(worker.url, 128);
  const results: RushResults = {
    rows: [],
    checks: [],
    measured: { buyers, joinSeconds: 0, cpuPerJoinMs: 0, admittedPerMinute: 0, pollsPerSecond: 0 },
  };
  const seats = Math.max(100, buyers);
  for (const show of [SHOW, PLAIN]) {
    const made = await client.send("PUT", `/admin/shows/${show}`, { name: `Rush ${show}`, seats }, admin);
    if (made.status !== 201) throw new Error(`could not create ${show}: ${made.status} ${made.body}`);
  }
  await client.warm(128);
  const noop: Sample[] = [];
  for (let i = 0; i < 100; i++) noop.push(await client.send("GET", "/healthz"));
  // Bookings on a show with no room, made beside the rush (the same load), as the baseline.
  const plainBookings: Sample[] = [];
  let plainSeat = 1;
  const opensAt = Date.now() + 2000;
  const room = { opens_at: new Date(opensAt).toISOString(), admit_per_minute: admitPerMinute, session_minutes: 10 };
  const on = await client.send("PUT", `/admin/shows/${SHOW}/waiting-room`, room, admin);
  if (on.status !== 201) throw new Error(`could not turn the room on: ${on.status} ${on.body}`);
  const ordersBefore = await worker.callObject<{ orders: number; ordersWithPass: number }>("SHOW", SHOW, "stats");
  await new Promise((resolve) => setTimeout(resolve, opensAt - Date.now() + 20));

  log(`▶ rush: ${buyers} buyers join the queue at its opening, all sent at once`);
  const joinStarted = performance.now();
  const cpuBefore = worker.cpuMs();
  const joins = await Promise.all(
    Array.from({ length: buyers }, () => client.send("POST", `/api/shows/${SHOW}/queue`)),
  );
  const joinSeconds = (performance.now() - joinStarted) / 1000;
  const cpuPerJoin = (worker.cpuMs() - cpuBefore) / buyers;
  const tickets = joins
    .filter((sample) => sample.status === 201)
    .map((sample) => JSON.parse(sample.body) as { ticket_id: string; ticket_token: string; retry_after: number });
  results.checks.push([
    tickets.length === buyers,
    `rush: every one of the ${buyers} buyers got a ticket (${tickets.length})`,
  ]);

  // Each buyer polls when told; once admitted, it books a seat with its pass. The impatient try without.
  log(
    `▶ rush: ${tickets.length} buyers wait for ${seconds} s at ${admitPerMinute} a minute; ${impatient} try to book without a pass`,
  );
  const polls: Sample[] = [];
  const withPass: Sample[] = [];
  const withoutPass: Sample[] = [];
  const everything: Sample[] = [...joins];
  const deadline = performance.now() + seconds * 1000;
  // The room's own count, as of its last tick: admissions happen on ticks, so timing them by the
  // ticks (not by when we asked) measures the rate without a tick's worth of error.
  const statsAt = async () => {
    const stats = await worker.callObject<{ admitted: number; lastTick: number } | null>("WAITING_ROOM", SHOW, "stats");
    return { at: stats?.lastTick ?? 0, admitted: stats?.admitted ?? 0 };
  };
  // The rate is measured after the first few ticks, over the rest of the run.
  await sleep(1500);
  const first = await statsAt();
  let seat = 1;
  const buyer = async (ticket: (typeof tickets)[number]) => {
    let wait = ticket.retry_after;
    while (performance.now() + wait * 1000 < deadline) {
      await sleep(wait * 1000);
      const poll = await client.send("GET", `/api/queue/${ticket.ticket_id}`, undefined, {
        authorization: `Bearer ${ticket.ticket_token}`,
      });
      polls.push(poll);
      const answer = JSON.parse(poll.body) as { state?: string; pass?: string; retry_after?: number };
      if (answer.state === "admitted") {
        const booking = await client.send(
          "POST",
          "/api/book-seat/",
          { show_id: SHOW, seat_id: seat++ },
          { "admission-pass": answer.pass! },
        );
        withPass.push(booking);
        return;
      }
      wait = answer.retry_after ?? 1;
    }
  };
  const impatience = async () => {
    while (performance.now() < deadline - 1000) {
      const attempts = await Promise.all(
        Array.from({ length: impatient }, (_, i) =>
          client.send("POST", "/api/book-seat/", { show_id: SHOW, seat_id: seats - i }),
        ),
      );
      withoutPass.push(...attempts);
      for (let i = 0; i < 10; i++) {
        plainBookings.push(await client.send("POST", "/api/book-seat/", { show_id: PLAIN, seat_id: plainSeat++ }));
      }
      await sleep(1000);
    }
  };
  const pollStarted = performance.now();
  await Promise.all([...tickets.map(buyer), impatience()]);
  const last = await statsAt();
  const pollSeconds = (performance.now() - pollStarted) / 1000;
  everything.push(...polls, ...withPass, ...withoutPass);

  const admittedPerMinute = ((last.admitted - first.admitted) / (last.at - first.at)) * 60_000;
  results.checks.push([
    Math.abs(admittedPerMinute - admitPerMinute) <= admitPerMinute * 0.1,
    `rush: admission ran at ${admittedPerMinute.toFixed(0)} a minute, within 10% of ${admitPerMinute}`,
  ]);
  const fivexx = everything.filter((sample) => sample.status >= 500 || sample.status === 0);
  results.checks.push([
    fivexx.length === 0,
    `rush: no 5xx and no failed request among ${everything.length} (${fivexx.length})`,
  ]);

  // Admission order equals join order: by place, every admitted ticket comes before every waiting one, in admission time order.
  const status = await worker.callObject<{ shards?: number }>("WAITING_ROOM", SHOW, "status");
  const shards = status.shards ?? 1;
  const rows = (
    await Promise.all(
      Array.from({ length: shards }, (_, k) =>
        worker.callObject<{ ord: number; admitted_at: number | null; state: string }[]>(
          "QUEUE_SHARD",
          `${SHOW}#${k}`,
          "tickets",
        ),
      ),
    )
  )
    .flat()
    .sort((a, b) => a.ord - b.ord);
  const inOrder = rows.every((row, i) => {
    if (i === 0) return true;
    const before = rows[i - 1]!;
    if (row.admitted_at === null) return true;
    return before.admitted_at !== null && before.admitted_at <= row.admitted_at;
  });
  const admittedCount = rows.filter((row) => row.admitted_at !== null).length;
  results.checks.push([
    inOrder,
    `rush: ${admittedCount} buyers were admitted in the order they joined, across ${shards} shards`,
  ]);

  const ordersAfter = await worker.callObject<{ orders: number; ordersWithPass: number }>("SHOW", SHOW, "stats");
  const orders = ordersAfter.orders - ordersBefore.orders;
  const ordersWithPass = ordersAfter.ordersWithPass - ordersBefore.ordersWithPass;
  results.checks.push([
    orders === withPass.length && ordersWithPass === orders && withoutPass.every((sample) => sample.status === 403),
    `rush: the show's object heard ${orders} orders, all ${ordersWithPass} with a pass, for ${withPass.length} admitted buyers; ${withoutPass.length} attempts without a pass got 403 at the edge`,
  ]);

  const pollsPerSecond = polls.length / pollSeconds;
  results.measured = { buyers, joinSeconds, cpuPerJoinMs: cpuPerJoin, admittedPerMinute, pollsPerSecond };
  results.rows.push(
    {
      scenario: `rush: ${buyers} buyers join at opening`,
      samples: joins,
      note: `sent at once, all answered in ${joinSeconds.toFixed(2)} s: ${(buyers / joinSeconds).toFixed(0)} joins/s, ${cpuPerJoin.toFixed(2)} ms of workerd CPU each`,
      vsBaseline: `p50 ${ratio(latencyStats(joins).p50, latencyStats(noop).p50)} a no-op request`,
    },
    {
      scenario: `rush: polls while ${tickets.length} wait`,
      samples: polls,
      note: `${pollsPerSecond.toFixed(0)} polls a second for ${tickets.length} buyers (each told when to come back)`,
      vsBaseline: `${ratio(pollsPerSecond, tickets.length)} a poll per buyer per second`,
    },
    {
      scenario: "rush: bookings with a pass",
      samples: withPass,
      note: `${admittedCount} admitted at ${admittedPerMinute.toFixed(0)}/min (set: ${admitPerMinute})`,
      vsBaseline: `p50 ${ratio(latencyStats(withPass).p50, latencyStats(plainBookings).p50)} a booking with no room, same time`,
    },
  );
  await client.send("DELETE", `/admin/shows/${SHOW}/waiting-room`, undefined, admin);
  await client.close();
  return results;
}
