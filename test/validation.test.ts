import { describe, expect, it } from "vitest";
import { call, newShow, post, storedBookings, withEnv } from "./helpers";

const ID_RULE = "a positive integer, or a string of 1-64 characters from A-Z, a-z, 0-9, '_' and '-'";

describe("bad booking input gets a 400 that names the field, and books nothing", () => {
  const cases: [string, unknown, { error: string; field?: string }][] = [
    ["a JSON array", [1, 2], { error: "Request body must be a JSON object" }],
    ["a JSON string", '"hello"', { error: "Request body must be a JSON object" }],
    ["JSON null", "null", { error: "Request body must be a JSON object" }],
    ["broken JSON", '{"seat_id": 1,', { error: "Request body must be a JSON object" }],
    ["an empty body", "", { error: "Request body must be a JSON object" }],
    ["a missing seat_id", { show_id: "SHOW" }, { error: "seat_id is required", field: "seat_id" }],
    ["a missing show_id", { seat_id: 1 }, { error: "show_id is required", field: "show_id" }],
    ["a seat_id of 0", { show_id: "SHOW", seat_id: 0 }, { error: `seat_id must be ${ID_RULE}`, field: "seat_id" }],
    ["a negative seat_id", { show_id: "SHOW", seat_id: -3 }, { error: `seat_id must be ${ID_RULE}`, field: "seat_id" }],
    [
      "a fractional seat_id",
      { show_id: "SHOW", seat_id: 1.5 },
      { error: `seat_id must be ${ID_RULE}`, field: "seat_id" },
    ],
    [
      "a seat_id beyond 2^53",
      { show_id: "SHOW", seat_id: 2 ** 60 },
      { error: `seat_id must be ${ID_RULE}`, field: "seat_id" },
    ],
    [
      "a boolean seat_id",
      { show_id: "SHOW", seat_id: true },
      { error: `seat_id must be ${ID_RULE}`, field: "seat_id" },
    ],
    ["a null seat_id", { show_id: "SHOW", seat_id: null }, { error: `seat_id must be ${ID_RULE}`, field: "seat_id" }],
    [
      "an empty string seat_id",
      { show_id: "SHOW", seat_id: "" },
      { error: `seat_id must be ${ID_RULE}`, field: "seat_id" },
    ],
    [
      "a seat_id with a space",
      { show_id: "SHOW", seat_id: "A 1" },
      { error: `seat_id must be ${ID_RULE}`, field: "seat_id" },
    ],
    [
      "a 65-character seat_id",
      { show_id: "SHOW", seat_id: "x".repeat(65) },
      { error: `seat_id must be ${ID_RULE}`, field: "seat_id" },
    ],
    [
      "an object show_id",
      { show_id: { id: 1 }, seat_id: 1 },
      { error: `show_id must be ${ID_RULE}`, field: "show_id" },
    ],
    [
      "a user_id with unicode",
      { show_id: "SHOW", seat_id: 1, user_id: "zoë" },
      { error: `user_id must be ${ID_RULE}; optional`, field: "user_id" },
    ],
  ];

  it.each(cases)("rejects %s", async (_name, body, expected) => {
    const showId = await newShow(3);
    const payload =
      typeof body === "string" ? body : JSON.parse(JSON.stringify(body).replaceAll('"SHOW"', JSON.stringify(showId)));
    const response = await post("/api/book-seat/", payload);
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual(expected);
    expect(await storedBookings(showId)).toEqual([]);
  });

  it("ignores fields it does not know, like __proto__", async () => {
    const showId = await newShow(3);
    const response = await post(
      "/api/book-seat/",
      `{"show_id": "${showId}", "seat_id": 1, "__proto__": {"admin": true}, "extra": 1}`,
    );
    expect(response.status).toBe(200);
  });

  it("answers 413 for a body over 16 KiB, whether or not it declares its length", async () => {
    const showId = await newShow(3);
    const big = JSON.stringify({ show_id: showId, seat_id: 1, padding: "x".repeat(17 * 1024) });
    const declared = await post("/api/book-seat/", big);
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: "Request body must not exceed 16384 bytes", limit_bytes: 16384 });

    const stream = new Blob([big]).stream();
    const chunked = await call("/api/book-seat/", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await storedBookings(showId)).toEqual([]);
  });
});

describe("reading a body", () => {
  it("reads a body sent in chunks, with no declared length, as one with a length", async () => {
    const showId = await newShow(3);
    const text = JSON.stringify({ show_id: showId, seat_id: 2 });
    const stream = new Blob([text.slice(0, 10), text.slice(10)]).stream();
    const chunked = await call("/api/book-seat/", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(chunked.status).toBe(200);
    expect(await storedBookings(showId)).toEqual([{ seat_id: "2", user_id: null }]);
  });

  it("refuses an empty body where one is needed", async () => {
    const response = await call("/api/book-seat/", { method: "POST", headers: { "content-length": "0" } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "Request body must be a JSON object" });
  });
});

describe("routing errors", () => {
  it("answers a wrong method with 405 and an Allow header", async () => {
    const response = await call("/api/book-seat/", { method: "GET" });
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect(await response.json()).toEqual({ error: "Method GET is not allowed here; use POST" });

    const seats = await call("/api/shows/1/seats", { method: "DELETE" });
    expect(seats.status).toBe(405);
    expect(seats.headers.get("allow")).toBe("GET, HEAD");
  });

  it("answers HEAD on every GET route as GET, without the body, and nowhere else", async () => {
    // Straight to the Worker (not through the runtime, which strips a HEAD answer's body itself).
    const health = await withEnv({}, "/healthz", { method: "HEAD" });
    expect(health.status).toBe(200);
    expect(health.headers.get("content-type")).toBe("application/json");
    expect(await health.text()).toBe("");

    const showId = await newShow(2);
    const head = await withEnv({}, `/api/shows/${showId}/seats`, { method: "HEAD" });
    const get = await call(`/api/shows/${showId}/seats`);
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(get.headers.get("etag"));
    expect(await head.text()).toBe("");
    expect((await get.json<{ seats: unknown[] }>()).seats).toHaveLength(2);

    const missing = await withEnv({}, "/api/shows/no-such-show/seats", { method: "HEAD" });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe("");

    const booking = await call("/api/book-seat/", { method: "HEAD" });
    expect(booking.status).toBe(405);
    expect(booking.headers.get("allow")).toBe("POST");
    // The WebSocket route, and a queue ticket's poll (which spends the ticket's turn), take GET alone.
    const live = await call(`/api/shows/${showId}/live`, { method: "HEAD" });
    expect(live.status).toBe(405);
    expect(live.headers.get("allow")).toBe("GET");
    const poll = await call("/api/queue/x", { method: "HEAD" });
    expect(poll.status).toBe(405);
    expect(poll.headers.get("allow")).toBe("GET, DELETE");
  });

  it("answers an unknown route with a JSON 404", async () => {
    const response = await call("/api/nothing-here");
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "No such route", method: "GET", path: "/api/nothing-here" });
  });

  it("answers a URL over 2 KiB with 414 on any route, known or not, and changes nothing", async () => {
    const showId = await newShow(2);
    const long = `?pad=${"x".repeat(2048)}`;
    const booking = await post(`/api/book-seat/${long}`, { show_id: showId, seat_id: 1 });
    expect(booking.status).toBe(414);
    expect(await booking.json()).toEqual({ error: "The URL must not exceed 2048 bytes", limit_bytes: 2048 });
    expect((await call(`/api/nothing-here${long}`)).status).toBe(414);
    expect(await storedBookings(showId)).toEqual([]);
  });

  it("rejects a malformed show id in the path", async () => {
    const response = await call("/api/shows/bad%20id/seats");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: `show_id in the path must be ${ID_RULE}`, field: "show_id" });
    const undecodable = await call("/api/shows/%E0%A4%A/seats");
    expect(undecodable.status).toBe(400);
  });
});
