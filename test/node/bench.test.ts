/**
 * `npm run bench` still runs end to end: a very short run, checked for its table, its
 * ratio to the floor, and its own correctness checks. (The numbers themselves are for
 * people to read; no speed is asserted here.)
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../scripts/lib/dev-server.ts";

const run = promisify(execFile);

describe("npm run bench", () => {
  it("prints the table, the ratio to the floor, and passes its checks", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        "scripts/bench.ts",
        "--duration",
        "1",
        "--clients",
        "4",
        "--hot",
        "50",
        "--rounds",
        "1",
        "--seats",
        "1000",
        "--watchers",
        "20",
        "--readers",
        "20",
        "--shows",
        "30",
        "--plan-seats",
        "2000",
        "--rush-buyers",
        "300",
        "--rush-seconds",
        "4",
      ],
      { cwd: PROJECT_ROOT, maxBuffer: 10 * 1024 * 1024 },
    );
    for (const scenario of [
      "floor: hot seat",
      "hot seat",
      "floor: on-sale",
      "audited floor: on-sale",
      "on-sale",
      "mixed: seat-map reads",
      "holds (4 seats each)",
      "holds, rate limited per address",
      "holds, and seats held per address limited",
      "watchers: quiet bookings",
      "watchers: bookings beside 20 watchers",
      "resync spam: bookings beside 1 attacker",
      "close ignored: bookings beside 1 attacker who ignores the close",
      "readers: bookings beside 20 readers",
      "watchers (split): bookings beside 20 watchers",
      "resync spam (split): bookings beside 1 attacker",
      "close ignored (split): bookings beside 1 attacker who ignores the close",
      "readers (split): bookings beside 20 readers",
      "watchers: the floor's bookings beside 20 watchers",
      "readers (split): the floor's bookings beside 20 readers",
      "list: a page of 200 of 30 shows",
      "cleanup: 100 unknown shows",
      "plans: import a 2,000-seat plan",
      "plans: statuses of 2,000 seats",
      "plans: best available of 2 in 2,000 seats",
      "plans: the first booking after the object wakes, 2,000 seats",
      "rush: 300 buyers join at opening",
      "rush: polls while 300 wait",
      "rush: bookings with a pass",
    ]) {
      expect(stdout).toMatch(new RegExp(`^${scenario.replace(/[()]/g, "\\$&")}\\s+\\d+`, "m"));
    }
    expect(stdout).toMatch(/On-sale throughput: \d+\/s = \d+% of the floor's \d+\/s/);
    expect(stdout).toMatch(/workerd CPU per booking: [\d.]+ ms = [\d.]+× the floor's [\d.]+ ms/);
    expect(stdout).toMatch(/^on-sale .* CPU [\d.]+× floor .* turn by turn [\d.]+×; [\d.]+× the audited floor's CPU/m);
    expect(stdout).toMatch(/^audited floor: on-sale .* CPU [\d.]+× floor /m);
    expect(stdout).toMatch(
      /The audited floor \(the floor plus an audit row and a hashed booking token per booking\): [\d.]+ ms = [\d.]+× the floor's; the project [\d.]+× it\. Throughput: the audited floor \d+% of the floor's, the project \d+% of the audited floor's/,
    );
    expect(stdout).toMatch(/^holds, and seats held per address limited .* CPU [\d.]+× rate limited .* 201×\d+ /m);
    expect(stdout).toMatch(/^watchers: bookings beside 20 watchers .* p99 [\d.]+× quiet/m);
    expect(stdout).toMatch(/^watchers \(split\): bookings beside 20 watchers .* origin \d+%, edge \d+%/m);
    expect(stdout).toMatch(
      /^readers \(split\): the floor's bookings beside 20 readers .* p99 [\d.]+× quiet .* a floor Worker the crowd never reaches.* turn by turn, median p99 [\d.]+×/m,
    );
    expect(stdout).toMatch(
      /Bookings' p99 beside each crowd, .*: watchers [\d.]+× \(by turn [\d.]+×; the floor [\d.]+×, by turn [\d.]+×\), .*readers \(split\) [\d.]+× \(by turn [\d.]+×; the floor [\d.]+×, by turn [\d.]+×\)/,
    );
    expect(stdout).toMatch(
      /^close ignored \(split\): bookings beside .* told 1008; turn by turn, median p99 [\d.]+× quiet/m,
    );
    expect(stdout).toMatch(/Hot seat p99: [\d.]+ ms/);
    expect(stdout).toMatch(/^plans: import a 2,000-seat plan .* [\d.]+× a flat list of 2,000 seats/m);
    expect(stdout).toMatch(/^plans: best available of 2 in 2,000 seats .* CPU [\d.]+× a hold of 2 named seats/m);
    expect(stdout).toMatch(
      /^plans: the first booking after the object wakes, 2,000 seats .* p50 [\d.]+× a 100-seat show's .* 200×10 /m,
    );
    expect(stdout).toMatch(
      /Plan of 2000 seats: imported in [\d.]+ s; statuses 2 KB; best available: the search [\d.]+ ms.*; the first booking after a 2000-seat show.s object wakes p50 [\d.]+ ms \(a 100-seat show's [\d.]+ ms\)/,
    );
    expect(stdout).toMatch(
      /Waiting room: 300 buyers' joins, sent at once at opening, all answered in [\d.]+ s; admitted \d+ a minute/,
    );
    expect(stdout).toContain("All correctness checks passed.");
    // Every scenario, both crowd topologies and their floor turns: about 100 s on this 2-core
    // machine when idle, so the node project's 120 s was too close to pass under load.
  }, 300_000);

  it("--json writes the same results as JSON, --compare runs a committed revision beside the tree, --perf profiles", async () => {
    const perfDir = await mkdtemp(join(tmpdir(), "bench-perf-"));
    const { stdout, stderr } = await run(
      process.execPath,
      [
        "scripts/bench.ts",
        "--duration",
        "1",
        "--clients",
        "2",
        "--hot",
        "20",
        "--rounds",
        "1",
        "--only",
        "hot,sale",
        "--compare",
        "HEAD",
        "--perf",
        perfDir,
        "--json",
      ],
      { cwd: PROJECT_ROOT, maxBuffer: 10 * 1024 * 1024 },
    );
    const result = JSON.parse(stdout) as {
      rows: { scenario: string; requests: number }[];
      onSaleVsFloor: number;
      workerdCpuMsPerBooking: {
        project: number;
        floor: number;
        auditedFloor: number;
        compared: Record<string, number>;
      };
      workerdCpuUsPerBookingByCategory: Record<string, Record<string, number>> | null;
      failures: string[];
    };
    expect(result.rows.map((row) => row.scenario)).toEqual([
      "floor: hot seat",
      "hot seat",
      "floor: on-sale",
      "audited floor: on-sale",
      "on-sale",
      "on-sale at HEAD",
    ]);
    // The revision booked for real (its seat maps were checked: failures is empty).
    expect(result.rows.at(-1)!.requests).toBeGreaterThan(0);
    expect(result.workerdCpuMsPerBooking.compared.HEAD).toBeGreaterThan(0);
    expect(result.workerdCpuMsPerBooking.auditedFloor).toBeGreaterThan(0);
    expect(result.onSaleVsFloor).toBeGreaterThan(0);
    expect(result.failures).toEqual([]);
    // Each Worker's process was profiled, or the run says why not (no perf here, say).
    for (const label of ["floor: on-sale", "audited floor: on-sale", "on-sale", "on-sale at HEAD"]) {
      const said = new RegExp(`^  ${label}: (?:profile in (\\S+) |no profile \\(.+\\))`, "m").exec(stderr);
      expect(said, `${label} in:\n${stderr}`).not.toBeNull();
      if (said![1] !== undefined) expect((await stat(said![1])).size).toBeGreaterThan(0);
    }
    // Where perf could profile, each Worker's CPU per booking is split by where it ran, all of it.
    if (!stderr.includes("no profile")) {
      const split = result.workerdCpuUsPerBookingByCategory!;
      const sum = (label: string) => Object.values(split[label]!).reduce((a, b) => a + b, 0);
      expect(sum("on-sale") / 1000).toBeCloseTo(result.workerdCpuMsPerBooking.project, 5);
      expect(sum("floor: on-sale") / 1000).toBeCloseTo(result.workerdCpuMsPerBooking.floor, 5);
      expect(split["on-sale"]!["the commit after a change"]).toBeGreaterThan(0);
    }
    await rm(perfDir, { recursive: true, force: true });
  });
});
