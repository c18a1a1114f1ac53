import { afterEach, describe, expect, it, vi } from "vitest";
import { ADMIN_TOKEN, adminHeaders, bearer, call, holdSeats, newShow, post, withEnv } from "./helpers";

afterEach(() => vi.restoreAllMocks());

describe("logs", () => {
  it("write one JSON line per request with route, show, status and latency, and never a token", async () => {
    const showId = await newShow(3);
    const hold = await holdSeats(showId, [1]);
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));

    await call(`/api/holds/${hold.hold_id}/confirm`, { method: "POST", headers: bearer(hold.hold_token) });
    await call(`/admin/shows/${showId}/log?limit=5`, { headers: adminHeaders });
    await post("/api/book-seat/", { show_id: showId, seat_id: 2, user_id: "private-person" });

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toEqual([
      {
        type: "request",
        method: "POST",
        route: "/api/holds/:hold_id/confirm",
        show_id: showId,
        status: 200,
        latency_ms: expect.any(Number),
      },
      {
        type: "request",
        method: "GET",
        route: "/admin/shows/:show_id/log",
        show_id: showId,
        status: 200,
        latency_ms: expect.any(Number),
      },
      {
        type: "request",
        method: "POST",
        route: "/api/book-seat",
        show_id: showId,
        status: 200,
        latency_ms: expect.any(Number),
      },
    ]);
    const everything = lines.join("\n");
    for (const secret of [hold.hold_token, ADMIN_TOKEN, "private-person", hold.hold_id])
      expect(everything).not.toContain(secret);
  });

  it("log unexpected errors with their detail, and answer a generic 500", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => void errors.push(String(line)));
    vi.spyOn(console, "log").mockImplementation(() => {});
    const broken = {
      getByName: () => ({
        seatMapJson: async () => {
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
