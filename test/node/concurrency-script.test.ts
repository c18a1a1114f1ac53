/**
 * End to end: the real `wrangler dev`, on a free port with its own storage,
 * and the concurrency tester users run against it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../scripts/lib/dev-server.ts";
import { useDevServer } from "./dev-server.ts";

const run = promisify(execFile);
const TOKEN = "e2e-admin-token";
const devServer = useDevServer(TOKEN);

function concurrency(...args: string[]) {
  return run(process.execPath, ["scripts/concurrency.ts", "--url", devServer().url, "--token", TOKEN, ...args], {
    cwd: PROJECT_ROOT,
  }).then(
    (done) => ({ code: 0, stdout: done.stdout }),
    (failed: { code: number; stdout: string }) => ({ code: failed.code, stdout: failed.stdout }),
  );
}

describe("npm run concurrency against wrangler dev", () => {
  it("the old system's curl gets 200, then 409", async () => {
    const book = () =>
      fetch(`${devServer().url}/api/book-seat/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ seat_id: 42, show_id: 1 }),
      });
    const first = await book();
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ message: "Seat booked successfully" });
    const second = await book();
    expect(second.status).toBe(409);
    expect(await second.json()).toEqual({ error: "Seat is already booked by another user", show_id: 1, seat_id: 42 });
  });

  it("--n 50 --reset prints PASS and exits 0", async () => {
    const result = await concurrency("--n", "50", "--reset", "--seat", "10");
    expect(result.stdout).toContain("Summary: 1 booked (200), 49 conflicts (409), 0 other");
    expect(result.stdout).toContain("PASS");
    expect(result.stdout.match(/^✅/gm)).toHaveLength(1);
    expect(result.stdout.match(/^❌ #\s*\d+ {2}409/gm)).toHaveLength(49);
    expect(result.code).toBe(0);
  });

  it("--mode hold races holds: one 201, the rest 409, PASS", async () => {
    const result = await concurrency("--mode", "hold", "--n", "20", "--reset", "--seat", "11");
    expect(result.stdout).toContain("Summary: 1 held (201), 19 conflicts (409), 0 other");
    expect(result.stdout).toContain("PASS: exactly one request held the seat");
    expect(result.code).toBe(0);
    // --reset releases the hold, so the race can be run again.
    const again = await concurrency("--mode", "hold", "--n", "5", "--reset", "--seat", "11");
    expect(again.code).toBe(0);
  });

  it("without --reset, on a seat already sold, prints FAIL and exits 1", async () => {
    const result = await concurrency("--n", "5", "--seat", "10");
    expect(result.stdout).toContain("Summary: 0 booked (200), 5 conflicts (409), 0 other");
    expect(result.stdout).toContain("FAIL");
    expect(result.stdout).toContain("(Was the seat already booked? Run again with --reset.)");
    expect(result.code).toBe(1);
  });

  it("on a show that does not exist, prints FAIL with the 404s and blames no earlier booking", async () => {
    const result = await concurrency("--n", "5", "--show", "no-such-show");
    expect(result.stdout).toContain("Summary: 0 booked (200), 0 conflicts (409), 5 other");
    expect(result.stdout).toContain("Show not found");
    expect(result.stdout).not.toContain("Was the seat already booked?");
    expect(result.code).toBe(1);
  });

  it("answers a mistyped option or URL with a line and the usage, not a stack trace, and exits 2", async () => {
    for (const args of [
      ["--sead", "10"],
      ["--url", "localhost:8787"],
      ["--url", "http://localhost:8787/api"],
    ]) {
      const failed = await run(process.execPath, ["scripts/concurrency.ts", ...args], { cwd: PROJECT_ROOT }).then(
        () => ({ code: 0, stderr: "" }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed.code, args.join(" ")).toBe(2);
      expect(failed.stderr, args.join(" ")).toMatch(/\nUsage: npm run concurrency -- /);
      expect(failed.stderr, args.join(" ")).not.toMatch(/^\s+at /m);
    }
  });
});
