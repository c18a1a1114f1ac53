/**
 * The benchmark's load generator: timed runs of many concurrent loops on the lean client,
 * and the generator's own CPU use, so that nobody mistakes a saturated client for a slow server.
 */
import { performance } from "node:perf_hooks";
import type { Client, Sample } from "../lib/http-client.ts";

/** CPU this process used over a stretch of wall time, as a percentage of one core. */
export function cpuMeter(): () => { wallMs: number; cpuPercentOfCore: number } {
  const startCpu = process.cpuUsage();
  const startWall = performance.now();
  return () => {
    const used = process.cpuUsage(startCpu);
    const wallMs = performance.now() - startWall;
    return { wallMs, cpuPercentOfCore: ((used.user + used.system) / 1000 / wallMs) * 100 };
  };
}

/**
 * Runs `clients` loops at once for `seconds`, each sending `next()` requests back to back,
 * and reports progress every few seconds. `next` returns null when there is no more work.
 */
export async function runFor(
  client: Client,
  clients: number,
  seconds: number,
  next: () => {
    method: "GET" | "POST";
    path: string;
    body?: unknown;
    kind: string;
    headers?: Record<string, string>;
  } | null,
  progress: (done: number) => void,
): Promise<{ samples: Map<string, Sample[]>; wallMs: number; cpuPercentOfCore: number }> {
  const samples = new Map<string, Sample[]>();
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const ticker = setInterval(() => progress(done), 2000);
  const meter = cpuMeter();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        const request = next();
        if (request === null) return;
        const sample = await client.send(request.method, request.path, request.body, request.headers);
        if (!samples.has(request.kind)) samples.set(request.kind, []);
        samples.get(request.kind)!.push(sample);
        done++;
      }
    }),
  );
  clearInterval(ticker);
  return { samples, ...meter() };
}

/** A cost beside its baseline, as the benchmark prints it: "1.23×". */
export function ratio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)}×`;
}
