import type { IRequest } from "itty-router";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CLIENT_ERROR_LINE_BURST, logRequest } from "../src/http/log";
import { ADMIN_TOKEN, adminHeaders, bearer, call, holdSeats, newShow, post, withEnv } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("logs", () => {
  it("write one JSON line for an answer that needs one (4xx, 5xx), none for a success, never a token", async () => {
    const showId = await newShow(3);
    const hold = await holdSeats(showId, [1]);
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));

    // Successes: the platform's invocation logs and the audit log have them.
    await call(`/api/holds/${hold.hold_id}/confirm`, { method: "POST", headers: bearer(hold.hold_token) });
    await post("/api/book-seat/", { show_id: showId, seat_id: 2, user_id: "private-person" });
    expect(lines).toEqual([]);

    await call(`/api/holds/${hold.hold_id}/confirm`, { method: "POST", headers: bearer(`${hold.hold_token}x`) });
    await call(`/admin/shows/${showId}/log?limit=0`, { headers: adminHeaders });
    await post("/api/book-seat/", { show_id: showId, seat_id: 99, user_id: "private-person" });

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const line = (method: string, route: string, status: number) => ({
      type: "request",
      method,
      route,
      show_id: showId,
      status,
      latency_ms: expect.any(Number),
    });
    expect(entries).toEqual([
      line("POST", "/api/holds/:hold_id/confirm", 403),
      line("GET", "/admin/shows/:show_id/log", 400),
      line("POST", "/api/book-seat", 404),
    ]);
    const everything = lines.join("\n");
    for (const secret of [hold.hold_token, ADMIN_TOKEN, "private-person", hold.hold_id])
      expect(everything).not.toContain(secret);
  });

  it("log one 409 in a hundred, marked as a sample", async () => {
    const showId = await newShow(1);
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    // Dice that come up 0.005, 0.015, … 0.995 in turn: one throw in a hundred is under 1 in 100.
    let throws = 0;
    vi.spyOn(Math, "random").mockImplementation(() => ((throws++ % 100) + 0.5) / 100);
    const conflicts = await Promise.all(
      Array.from({ length: 400 }, () => post("/api/book-seat/", { show_id: showId, seat_id: 1 })),
    );
    expect(conflicts.every((response) => response.status === 409)).toBe(true);
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ status: 409, sampled: "1 in 100" });
  });

  it("write at most a budget of 4xx lines however many a client causes, and count the rest once a second", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    // A thousand made-up paths at once: a burst's worth of lines, the rest counted.
    const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => call(`/api/made-up-${i}`)));
    expect(answers.every((answer) => answer.status === 404)).toBe(true);
    // A second later, the next request, whatever its answer (here a success), writes the count of
    // everything left out in that second.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await call("/healthz")).status).toBe(200);
    const entries = lines.map((text) => JSON.parse(text) as { type: string; count?: number; statuses?: object });
    const written = entries.filter((entry) => entry.type === "request");
    const counts = entries.filter((entry) => entry.type === "requests not logged");
    // (Tests before this one spent some of the budget; the time the thousand take refills a little.)
    expect(written.length).toBeGreaterThan(CLIENT_ERROR_LINE_BURST / 2);
    expect(written.length).toBeLessThan(CLIENT_ERROR_LINE_BURST + 20);
    expect(counts.length).toBeGreaterThan(0);
    expect(written.length + counts.reduce((sum, entry) => sum + entry.count!, 0)).toBe(1000);
    expect(counts.at(-1)).toEqual({
      type: "requests not logged",
      count: counts.at(-1)!.count,
      statuses: { 404: counts.at(-1)!.count },
    });
    // A 5xx is written whatever the budget says.
    const later = Date.now() + 2000;
    const request = { method: "GET", params: {} } as unknown as IRequest;
    for (let i = 0; i < 100; i++) logRequest(request, 404, 1, Math.random, later);
    logRequest(request, 503, 1, Math.random, later);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: "request", status: 503 });
  });

  it("write the count of what was left out with a 409 that is not sampled, too", () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    const request = { method: "GET", params: {} } as unknown as IRequest;
    const at = Date.now() + 60_000;
    for (let i = 0; i < 200; i++) logRequest(request, 404, 1, Math.random, at);
    // (A count left by the test before may go out first, at the first of these.)
    const written = lines.length;
    const logged = lines.filter((line) => JSON.parse(line).type === "request").length;
    expect(logged).toBeLessThan(200);
    logRequest(request, 409, 1, () => 0.9, at + 1000);
    expect(lines.slice(written).map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      { type: "requests not logged", count: 200 - logged, statuses: { 404: 200 - logged } },
    ]);
  });

  it("log unexpected errors with their detail, and answer a generic 500", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    vi.spyOn(console, "log").mockImplementation(() => {});
    const broken = {
      getByName: () => ({
        statusesJson: async () => {
          throw new TypeError("boom: internal detail");
        },
      }),
    };
    const showId = await newShow(2);
    const response = await withEnv({ SHOW: broken as unknown as Env["SHOW"] }, `/api/shows/${showId}/seats`);
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Internal server error" });
    expect(JSON.parse(errors[0]!)).toMatchObject({
      message: "unhandled error",
      path: `/api/shows/${showId}/seats`,
      error: { name: "TypeError", message: "boom: internal detail" },
    });
  });
});
