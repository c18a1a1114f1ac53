/**
 * Scenarios that put a crowd beside a show's bookings (live watchers, a resync attacker,
 * seat-map readers) and time the bookings with the crowd and without it, on the same show.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type { Client, Sample } from "../lib/http-client.ts";

export type CrowdMode = "watchers" | "attacker" | "hostile" | "readers";

/** Switches a running crowd on or off (see crowd.ts); resolves once the crowd has done it. */
export type CrowdSwitch = (on: boolean) => Promise<void>;

/**
 * Runs `during` while a crowd of `count` works on `showId` in its own process (on the CPUs of
 * `cpuList` when given), and returns what the crowd reported when it was ready and when it
 * finished. The attacker and the readers start switched off: `during` switches them.
 */
export async function withCrowd<T>(
  mode: CrowdMode,
  url: string,
  showId: string,
  count: number,
  during: (crowd: CrowdSwitch) => Promise<T>,
  cpuList?: string,
): Promise<{ ready: Record<string, unknown>; result: Record<string, unknown>; value: T }> {
  const script = join(dirname(fileURLToPath(import.meta.url)), "crowd.ts");
  const command = [process.execPath, script, mode, url, showId, String(count)];
  const pinned = cpuList === undefined ? command : ["taskset", "--cpu-list", cpuList, ...command];
  const child = spawn(pinned[0]!, pinned.slice(1), { stdio: ["pipe", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const line = await lines.next();
    if (line.done) throw new Error(`the ${mode} crowd ended early`);
    return JSON.parse(line.value) as Record<string, unknown>;
  };
  const ready = await next();
  const value = await during(async (on) => {
    child.stdin.write(on ? "on\n" : "off\n");
    const answer = await next();
    if (answer[on ? "on" : "off"] !== true) throw new Error(`the ${mode} crowd answered ${JSON.stringify(answer)}`);
  });
  child.stdin.write("finish\n");
  const result = await next();
  await new Promise((resolve) => child.once("exit", resolve));
  return { ready, result, value };
}

/**
 * Books seats of `showId` for `seconds`, at `perSecond` bookings a second on a fixed schedule,
 * over the client's connections (BOOKERS of them in the bench): a steady, modest rate, so that
 * latency shows how long a booking takes to serve rather than how long it queues behind the
 * benchmark's own load. Each booking is sent when it is due whether or not the ones before have
 * been answered (a stalled server makes them queue for a connection, as buyers would), and its
 * latency is counted from when it was due. A client that waited for each answer before sending
 * the next would send fewer bookings during a stall and time none of the waiting, which hides
 * exactly the stalls a p99 is meant to show.
 */
export async function bookFor(
  client: Client,
  showId: string,
  seconds: number,
  seats: { next: number; last: number },
  perSecond = 100,
): Promise<Sample[]> {
  const started = performance.now();
  const booked: Promise<Sample>[] = [];
  for (let i = 0; i < seconds * perSecond && seats.next <= seats.last; i++) {
    const due = started + (i / perSecond) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const seat = seats.next++;
    booked.push(
      client
        .send("POST", "/api/book-seat/", { show_id: showId, seat_id: seat })
        .then((sample) => ({ ...sample, ms: performance.now() - due })),
    );
  }
  return Promise.all(booked);
}
