import { env, exports } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BATCH_TICK_MS, LiveFeed, type FeedHost, type Relays } from "../src/show/feed";
import { RETRY_FIRST_MS, type Delivery } from "../src/show/outbox";
import type { Show } from "../src/show/show";
import type { LiveRelay } from "../src/live/relay";
import { ReadingWatchers } from "../src/live/reading";
import {
  adminHeaders,
  BASE,
  call,
  holdSeats,
  newShow,
  platformError,
  post,
  querySql,
  setClock,
  showStub,
  statuses,
  withEnv,
} from "./helpers";

interface Message {
  type: string;
  [key: string]: unknown;
}

/** How long `next()` waits for a message before it fails the test. */
const MESSAGE_TIMEOUT_MS = 3000;

/**
 * A live client: its messages arrive in a queue the test awaits one at a time. A wait fails,
 * rather than hangs, when no message comes in time or the socket closes or errs first (as the
 * workers-sdk WebSocket fixtures do).
 */
class LiveClient {
  private readonly queue: Message[] = [];
  private waiting: { resolve: (message: Message) => void; reject: (error: Error) => void } | null = null;
  /** Why no more messages can come, once the socket has closed or failed. */
  private ended: Error | null = null;
  /** Echoes the relay asked for, each answered (at once, as the page does, unless delayed) rather than queued. */
  echoes = 0;
  /** How long the client takes to answer an echo: a round trip; Infinity never to answer. */
  answerDelayMs = 0;
  /** Whether the socket has closed. */
  closed = false;

  constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data as string) as Message;
      if (message.type === "echo") {
        this.echoes++;
        if (this.answerDelayMs === 0) socket.send(event.data as string);
        else if (this.answerDelayMs !== Infinity) {
          setTimeout(() => this.closed || socket.send(event.data as string), this.answerDelayMs);
        }
        return;
      }
      if (this.waiting) {
        const { resolve } = this.waiting;
        this.waiting = null;
        resolve(message);
      } else {
        this.queue.push(message);
      }
    });
    socket.addEventListener("close", (event) => {
      this.closed = true;
      this.end(new Error(`the socket closed (${event.code}) first`));
    });
    socket.addEventListener("error", () => this.end(new Error("the socket failed first")));
    socket.accept();
  }

  next(timeoutMs = MESSAGE_TIMEOUT_MS): Promise<Message> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (message) => (clearTimeout(timer), resolve(message)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      };
    });
  }

  private end(reason: Error): void {
    this.ended ??= reason;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(reason);
  }

  /** Nothing arrives for several batch ticks, then a ping's pong comes back, and nothing before it. */
  async expectQuiet(): Promise<void> {
    await expect(this.next(BATCH_TICK_MS * 4)).rejects.toThrow("no message within");
    this.socket.send(JSON.stringify({ type: "ping" }));
    expect(await this.next()).toEqual({ type: "pong" });
  }

  /** The greeting: the layout, then a snapshot or the changes missed. */
  async greeting(): Promise<[Message, Message]> {
    return [await this.next(), await this.next()];
  }
}

/** A turn of the event loop: what was sent or answered by then has been handled. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Makes a relay's reads of its show wait for the test: each read (a `subscribe`) is answered when
 * the test calls the next function in the returned list, with a snapshot at the version given.
 */
function readsAnsweredOnCue(relay: LiveRelay, showId: string): ((version: number, statuses: string) => void)[] {
  const pending: ((version: number, statuses: string) => void)[] = [];
  (relay as unknown as { show(): unknown }).show = () => ({
    subscribe: () =>
      new Promise((resolve) =>
        pending.push((version, statuses) =>
          resolve({
            ok: true,
            layout: { type: "layout", layout: 1, show_id: showId, name: "x", seat_count: 3 },
            snapshot: { type: "snapshot", layout: 1, version, statuses },
          }),
        ),
      ),
  });
  return pending;
}

/** A show's live feed at layout `layout` (3 seats) over `relays`, and a way to hand it one delivery. */
function feedOver(sql: SqlStorage, showId: string, relays: Relays, layout: number) {
  const host: FeedHost = {
    layoutMessage: () => ({ type: "layout", layout, show_id: showId, name: "x", seat_count: 3 }),
    snapshotMessage: (version) => ({ type: "snapshot", layout, version, statuses: "aaa" }),
    layoutVersion: () => layout,
    placeOf: () => 0,
  };
  const feed = new LiveFeed(sql, host, relays);
  const deliver = (relay: string, delivery: Delivery) =>
    (feed as unknown as { deliver(relay: string, delivery: Delivery): void }).deliver(relay, delivery);
  return { feed, deliver };
}

const upgrade = { headers: { upgrade: "websocket" } };

async function connect(showId: string, query = "", overrides?: Partial<Env>): Promise<LiveClient> {
  const path = `/api/shows/${showId}/live${query}`;
  const response = overrides
    ? await withEnv(overrides, path, upgrade)
    : await exports.default.fetch(new Request(`${BASE}${path}`, upgrade));
  expect(response.status).toBe(101);
  return new LiveClient(response.webSocket!);
}

/** Asks to connect until a watcher is let in (a closed socket gives its place back a moment later), and keeps the socket. */
async function expectLetInAgain(open: () => Promise<Response>): Promise<void> {
  await expect
    .poll(async () => {
      const again = await open();
      if (again.status === 101) new LiveClient(again.webSocket!);
      return again.status;
    })
    .toBe(101);
}

/** The relays a show's object sends its batches to, as the show records them. */
async function relaysOf(showId: string): Promise<string[]> {
  return (await querySql<{ relay: string }>(showId, "SELECT relay FROM live_relays ORDER BY relay")).map(
    (r) => r.relay,
  );
}

/** Sells a seat, stored, and stops the show's object (a deploy, a crash) before its 50 ms tick can send it. */
async function sellThenStop(showId: string, seat: string): Promise<void> {
  await runInDurableObject(showStub(showId), async (show, state) => {
    expect(show.book([seat], null, { route: "test", actor: "test" }, null)).toMatchObject({ ok: true });
    await state.storage.sync();
    state.abort("restart");
  }).catch(() => {});
}

/** The last change the show notes as sent to every relay (see `LiveFeed.resume`). */
function deliveredMark(showId: string): Promise<{ live_delivered: number | null }[]> {
  return querySql<{ live_delivered: number | null }>(showId, "SELECT live_delivered FROM show");
}

/** The show's one relay (`LIVE_RELAYS` "1") finds its next read of the show refused, as an overloaded show refuses it. */
async function refuseOneRead(showId: string): Promise<void> {
  await runInDurableObject(env.RELAY.getByName(`${showId}#0`), (instance: LiveRelay) => {
    const inside = instance as unknown as { show(): DurableObjectStub<Show> };
    const show = inside.show();
    let refusals = 1;
    inside.show = () =>
      ({
        subscribe: (name: string) =>
          refusals-- > 0
            ? Promise.reject(platformError("Durable Object is overloaded.", { overloaded: true }))
            : show.subscribe(name),
        unsubscribe: (name: string, subscription?: string) => show.unsubscribe(name, subscription),
      }) as never;
  });
}

/** Sets what a show's one relay (`LIVE_RELAYS` "1") allows a watcher to leave unread (see `ReadingWatchers`). */
async function readingLimits(
  showId: string,
  limits: Partial<Pick<ReadingWatchers, "echoAfter" | "maxUnread" | "echoTimeoutMs">>,
): Promise<DurableObjectStub<LiveRelay>> {
  const relay = env.RELAY.getByName(`${showId}#0`);
  await runInDurableObject(relay, (instance: LiveRelay) => Object.assign(instance.reading, limits));
  return relay;
}

describe("GET /api/shows/:show_id/live", () => {
  it("greets a client with the layout, then every seat's status as one character in layout order", async () => {
    const showId = await newShow(["A1", "A2", "A3", "B1"], "Live show");
    await post("/api/book-seat/", { show_id: showId, seat_id: "A2" });
    await holdSeats(showId, ["B1"]);
    const client = await connect(showId);
    expect(await client.greeting()).toEqual([
      { type: "layout", layout: 1, show_id: showId, name: "Live show", seat_count: 4 },
      { type: "snapshot", layout: 1, version: 2, statuses: "abah" },
    ]);
  });

  it("sends the changes of one call as one message, and nothing for a refused change", async () => {
    const showId = await newShow(4);
    const client = await connect(showId);
    await client.greeting();
    await post("/api/book-seat/", { show_id: showId, seat_id: 3 });
    expect(await client.next()).toEqual({
      type: "changes",
      layout: 1,
      since: 0,
      version: 1,
      changes: [{ seat_id: 3, place: 2, status: "booked", version: 1 }],
    });
    const hold = await holdSeats(showId, [1, 2, 4]);
    expect(await client.next()).toEqual({
      type: "changes",
      layout: 1,
      since: 1,
      version: 4,
      changes: [
        { seat_id: 1, place: 0, status: "held", version: 2 },
        { seat_id: 2, place: 1, status: "held", version: 3 },
        { seat_id: 4, place: 3, status: "held", version: 4 },
      ],
    });
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 3 })).status).toBe(409);
    await call(`/api/holds/${hold.hold_id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${hold.hold_token}` },
    });
    expect(await client.next()).toMatchObject({ type: "changes", since: 4, version: 7 });
    await client.expectQuiet();
  });

  it("gathers the changes of a short tick into one message", async () => {
    const showId = await newShow(10);
    const client = await connect(showId);
    await client.greeting();
    await Promise.all([3, 4, 5, 6].map((seat) => post("/api/book-seat/", { show_id: showId, seat_id: seat })));
    const batch = await client.next();
    expect(batch).toMatchObject({ type: "changes", since: 0, version: 4 });
    expect((batch.changes as { seat_id: number }[]).map((change) => change.seat_id).sort()).toEqual([3, 4, 5, 6]);
    await client.expectQuiet();
  });

  it("tells 50 watchers of a booking through a bounded number of relays", async () => {
    const showId = await newShow(10);
    const clients = await Promise.all(Array.from({ length: 50 }, () => connect(showId)));
    await Promise.all(clients.map((client) => client.greeting()));
    await post("/api/book-seat/", { show_id: showId, seat_id: 7 });
    const batches = await Promise.all(clients.map((client) => client.next()));
    expect(new Set(batches.map((batch) => JSON.stringify(batch)))).toEqual(
      new Set([
        JSON.stringify({
          type: "changes",
          layout: 1,
          since: 0,
          version: 1,
          changes: [{ seat_id: 7, place: 6, status: "booked", version: 1 }],
        }),
      ]),
    );
    // The test config has 2 relays a show: the show's object talks to those, not to 50 sockets.
    const relays = await relaysOf(showId);
    expect(relays.length).toBeGreaterThanOrEqual(1);
    expect(relays.length).toBeLessThanOrEqual(2);
    for (const relay of relays) expect(relay).toMatch(new RegExp(`^${showId}#[01]$`));
    await runInDurableObject(showStub(showId), (_show, state) => expect(state.getWebSockets()).toEqual([]));
  });

  it("reports seats freed by the expiry alarm", async () => {
    const showId = await newShow(2);
    const start = Date.now();
    await setClock(showId, start);
    await holdSeats(showId, [1], 60);
    const client = await connect(showId);
    expect((await client.greeting())[1]).toMatchObject({ type: "snapshot", version: 1, statuses: "ha" });
    await setClock(showId, start + 61_000);
    await runDurableObjectAlarm(showStub(showId));
    expect(await client.next()).toEqual({
      type: "changes",
      layout: 1,
      since: 1,
      version: 2,
      changes: [{ seat_id: 1, place: 0, status: "available", version: 2 }],
    });
  });

  it("a reconnecting client gets only what it missed, from the relay, and resyncs on request", async () => {
    const showId = await newShow(5);
    const overrides = { LIVE_RELAYS: "1" };
    const first = await connect(showId, "", overrides);
    await first.greeting();
    for (const seat of [1, 2, 3]) {
      await post("/api/book-seat/", { show_id: showId, seat_id: seat });
      await first.next();
    }
    const client = await connect(showId, "?since=1&layout=1", overrides);
    expect(await client.greeting()).toEqual([
      expect.objectContaining({ type: "layout", layout: 1 }),
      {
        type: "changes",
        layout: 1,
        since: 1,
        version: 3,
        changes: [
          { seat_id: 2, place: 1, status: "booked", version: 2 },
          { seat_id: 3, place: 2, status: "booked", version: 3 },
        ],
      },
    ]);
    client.socket.send(JSON.stringify({ type: "resync", since: 3, layout: 1 }));
    expect(await client.next()).toEqual({ type: "changes", layout: 1, since: 3, version: 3, changes: [] });
  });

  it("a client whose position is stale, from another layout or from the future gets a snapshot", async () => {
    const showId = await newShow(3);
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    for (const query of ["?since=0&layout=2", "?since=5&layout=1", "?since=0&layout=1", "?since=1"]) {
      const client = await connect(showId, query);
      expect((await client.greeting())[1]).toEqual({ type: "snapshot", layout: 1, version: 1, statuses: "baa" });
    }
  });

  it("a client that resyncs from another layout gets the current layout, then a snapshot", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.greeting();
    client.socket.send(JSON.stringify({ type: "resync", since: 0, layout: 7 }));
    expect(await client.greeting()).toEqual([
      { type: "layout", layout: 1, show_id: showId, name: "Test show", seat_count: 2 },
      { type: "snapshot", layout: 1, version: 0, statuses: "aa" },
    ]);
  });

  it("sends everyone the new layout and a snapshot when the layout changes", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.greeting();
    await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Bigger", seats: 3 }),
    });
    expect(await client.greeting()).toEqual([
      { type: "layout", layout: 2, show_id: showId, name: "Bigger", seat_count: 3 },
      { type: "snapshot", layout: 2, version: 0, statuses: "aaa" },
    ]);
  });

  it("sends a layout and a snapshot, not a batch, for more changes at once than a relay keeps (a show reset)", async () => {
    const seats = 1001; // one more than MAX_CATCH_UP
    const showId = await newShow(seats);
    const client = await connect(showId);
    await client.greeting();
    const ids = Array.from({ length: seats }, (_, i) => i + 1);
    for (let from = 0; from < seats; from += 100) {
      const booking = await post(`/api/shows/${showId}/bookings`, { seat_ids: ids.slice(from, from + 100) });
      expect(booking.status).toBe(200);
    }
    const reset = await call(`/admin/shows/${showId}/bookings`, { method: "DELETE", headers: adminHeaders });
    expect(reset.status).toBe(200);
    // The bookings' batches, then the reset as a layout and a snapshot at the reset's last change.
    let largest = 0;
    for (;;) {
      const message = await client.next();
      if (message.type === "changes") largest = Math.max(largest, (message.changes as unknown[]).length);
      if (message.type === "snapshot") {
        expect(message).toEqual({ type: "snapshot", layout: 1, version: 2 * seats, statuses: "a".repeat(seats) });
        break;
      }
    }
    expect(largest).toBeLessThanOrEqual(1000);
    // Batches go on from there.
    await post("/api/book-seat/", { show_id: showId, seat_id: 7 });
    expect(await client.next()).toMatchObject({
      type: "changes",
      since: 2 * seats,
      changes: [{ seat_id: 7, status: "booked", version: 2 * seats + 1 }],
    });
  });

  it("sends nothing when a PUT repeats the show as it is: no new layout version", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.greeting();
    const same = await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Test show", seats: 2, max_seats_per_order: 100 }),
    });
    expect(same.status).toBe(200);
    await client.expectQuiet();
    expect((await call(`/api/shows/${showId}/plan`)).headers.get("etag")).toBe('"1"');
    // Any difference, even only the order limit, is a new layout version.
    const limit = await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Test show", seats: 2, max_seats_per_order: 4 }),
    });
    expect(limit.status).toBe(200);
    expect((await client.greeting())[0]).toMatchObject({ type: "layout", layout: 2 });
  });

  it("answers malformed frames with an error frame and keeps working", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.greeting();
    const frames = [
      "not json",
      JSON.stringify({ type: "shout" }),
      JSON.stringify({ type: "resync", since: -1, layout: 1 }),
    ];
    for (const frame of frames) {
      client.socket.send(frame);
      expect(await client.next()).toMatchObject({ type: "error", error: expect.any(String) });
    }
    await post("/api/book-seat/", { show_id: showId, seat_id: 2 });
    expect(await client.next()).toMatchObject({ type: "changes", changes: [{ seat_id: 2, status: "booked" }] });
  });

  it.each([
    ["an oversized", JSON.stringify({ type: "resync", since: 0, layout: 1, pad: "x".repeat(2000) }), 1009],
    // 440 characters, 1,240 bytes: the limit is in bytes.
    ["a multi-byte oversized", JSON.stringify({ type: "resync", since: 0, layout: 1, pad: "€".repeat(400) }), 1009],
    ["a binary", new Uint8Array([1, 2, 3]).buffer, 1003],
  ] as const)("closes a socket at %s frame, after saying why, and other watchers go on", async (_, frame, code) => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.greeting();
    const closed = new Promise<number>((resolve) =>
      client.socket.addEventListener("close", (event) => resolve(event.code)),
    );
    client.socket.send(frame);
    expect(await client.next()).toMatchObject({ type: "error", error: expect.any(String) });
    expect(await closed).toBe(code);
    const other = await connect(showId);
    await other.greeting();
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    expect(await other.next()).toMatchObject({ type: "changes", changes: [{ seat_id: 1, status: "booked" }] });
  });

  it("closes a socket that sends more than a few messages a second with 1008, after saying why", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.greeting();
    const closed = new Promise<number>((resolve) =>
      client.socket.addEventListener("close", (event) => resolve(event.code)),
    );
    for (let i = 0; i < 20; i++) client.socket.send(JSON.stringify({ type: "resync", since: 0, layout: 1 }));
    const answers: Message[] = [];
    for (;;) {
      const message = await client.next().catch(() => null);
      if (message === null) break;
      answers.push(message);
    }
    expect(answers.length).toBeLessThanOrEqual(6);
    expect(answers.at(-1)).toEqual({ type: "error", error: "Too many messages; this socket is closed" });
    expect(answers.slice(0, -1).every((answer) => answer.type === "changes")).toBe(true);
    expect(await closed).toBe(1008);
    // Another watcher of the same show is not affected.
    const other = await connect(showId);
    await other.greeting();
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    expect(await other.next()).toMatchObject({ type: "changes", version: 1 });
  });

  it("sends a watcher that does not read no more than it may leave unread, then closes it with 1008", async () => {
    const showId = await newShow(41);
    const oneRelay = { LIVE_RELAYS: "1" };
    const limits = { echoAfter: 300, maxUnread: 1500, echoTimeoutMs: 1000 };
    await readingLimits(showId, limits);
    // Nothing reads this one until the end: its end of the socket is not accepted.
    const silent = await withEnv(oneRelay, `/api/shows/${showId}/live`, upgrade);
    expect(silent.status).toBe(101);
    const reader = await connect(showId, "", oneRelay);
    await reader.greeting();
    for (let seat = 1; seat <= 40; seat++) {
      expect((await post("/api/book-seat/", { show_id: showId, seat_id: seat })).status).toBe(200);
      expect(await reader.next()).toMatchObject({ type: "changes", changes: [{ seat_id: seat, status: "booked" }] });
    }
    // Past the time its echo had, the next batch closes it.
    await new Promise((resolve) => setTimeout(resolve, limits.echoTimeoutMs));
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 41 })).status).toBe(200);
    expect(await reader.next()).toMatchObject({ type: "changes", changes: [{ seat_id: 41, status: "booked" }] });
    // The watcher that reads answered every echo and heard of every booking; the other was sent
    // at most what it may leave unread, then nothing, then closed with 1008.
    expect(reader.echoes).toBeGreaterThanOrEqual(10);
    const socket = silent.webSocket!;
    let received = 0;
    const types: string[] = [];
    socket.addEventListener("message", (event) => {
      received += (event.data as string).length;
      types.push((JSON.parse(event.data as string) as Message).type);
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.addEventListener("close", ({ code, reason }) => resolve({ code, reason })),
    );
    socket.accept();
    expect(await closed).toEqual({ code: 1008, reason: "not reading" });
    expect(received).toBeLessThanOrEqual(limits.maxUnread + 100);
    expect(types).toContain("echo");
    expect(types.filter((type) => type === "changes").length).toBeLessThan(40);
    // The watcher that reads goes on.
    await reader.expectQuiet();
  });

  it("holds back what a slow reader has no room for, and sends it a fresh view once it answers", async () => {
    // Snapshots of 1,000 characters, scaled as a 100,000-seat show's 100 KB are to the limits.
    const showId = await newShow(1000);
    const relay = await readingLimits(showId, { echoAfter: 320, maxUnread: 2560 });
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    client.answerDelayMs = 100; // a phone's round trip
    await client.greeting();
    await expect.poll(() => client.echoes).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Three resets back to back (more than 1,000 changes in three ticks in a row), well within a
    // round trip: more than the reader may have waiting.
    await runInDurableObject(relay, async (instance: LiveRelay) => {
      for (let i = 0; i < 3; i++) await instance.reset();
    });
    await post("/api/book-seat/", { show_id: showId, seat_id: 7 });
    const got: Message[] = [];
    for (;;) {
      const message = await client.next();
      got.push(message);
      if (message.type === "snapshot" && (message.statuses as string)[6] === "b") break;
      if (message.type === "changes" && (message.changes as { seat_id: number }[]).some((c) => c.seat_id === 7)) break;
    }
    // It was not closed; what it had no room for it got as one fresh view after its answer.
    expect(got.filter((message) => message.type === "snapshot").length).toBeLessThanOrEqual(3);
    expect(client.closed).toBe(false);
    await client.expectQuiet();
  });

  it("asks a held-back watcher for another echo when the show cannot be read for its fresh view, and tries again at the answer", async () => {
    const showId = await newShow(60);
    const relay = await readingLimits(showId, { echoAfter: 300, maxUnread: 1500 });
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    client.answerDelayMs = Infinity; // it reads; the test answers for it
    const nonces: string[] = [];
    client.socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data as string) as Message;
      if (message.type === "echo") nonces.push(message.nonce as string);
    });
    await client.greeting();
    // Bookings until the relay holds the next batch back.
    let seat = 1;
    for (; ; seat++) {
      await post("/api/book-seat/", { show_id: showId, seat_id: seat });
      if ((await client.next(500).catch(() => null)) === null) break;
    }
    // The relay's view is dropped (a reset would), and the show is too busy to be read for now.
    await runInDurableObject(relay, (instance: LiveRelay) => {
      const relayed = instance as unknown as { forgetView(): void; show(): unknown };
      relayed.forgetView();
      relayed.show = () => ({
        subscribe: () => Promise.reject(platformError("Durable Object is overloaded", { overloaded: true })),
      });
    });
    const answered = nonces.length;
    client.socket.send(JSON.stringify({ type: "echo", nonce: nonces.at(-1) }));
    // No view to send: it is asked for another echo instead.
    await expect.poll(() => nonces.length).toBe(answered + 1);
    await runInDurableObject(relay, (instance: LiveRelay) => {
      delete (instance as unknown as { show?: unknown }).show;
    });
    client.socket.send(JSON.stringify({ type: "echo", nonce: nonces.at(-1) }));
    expect(await client.next()).toMatchObject({ type: "layout" });
    const fresh = await client.next();
    expect(fresh).toMatchObject({ type: "snapshot", version: seat });
    expect((fresh.statuses as string).slice(0, seat)).toBe("b".repeat(seat));
  });

  it("sends a watcher that owes an echo nothing after its relay hibernated, and still closes it in time", async () => {
    const showId = await newShow(40);
    const relay = env.RELAY.getByName(`${showId}#0`);
    const limits = { echoAfter: 300, echoTimeoutMs: 1500 };
    await runInDurableObject(relay, (instance: LiveRelay) => Object.assign(instance.reading, limits));
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    client.answerDelayMs = Infinity; // it reads, and never answers
    await client.greeting();
    for (let seat = 1; client.echoes === 0; seat++) {
      await post("/api/book-seat/", { show_id: showId, seat_id: seat });
      await client.next();
    }
    await evictDurableObject(relay);
    await runInDurableObject(relay, (instance: LiveRelay) => Object.assign(instance.reading, limits));
    // Woken, the relay sends it nothing until it answers: not its resync's answer, nor a batch.
    client.socket.send(JSON.stringify({ type: "resync", since: 0, layout: 1 }));
    await post("/api/book-seat/", { show_id: showId, seat_id: 39 });
    await expect(client.next(500)).rejects.toThrow("no message within 500 ms");
    await new Promise((resolve) => setTimeout(resolve, limits.echoTimeoutMs));
    await post("/api/book-seat/", { show_id: showId, seat_id: 40 });
    await expect(client.next()).rejects.toThrow("the socket closed (1008) first");
  });

  it("answers no resync while the watcher owes an echo, and closes one that leaves it unanswered too long", async () => {
    const showId = await newShow(40);
    const oneRelay = { LIVE_RELAYS: "1" };
    await readingLimits(showId, { echoAfter: 300, echoTimeoutMs: 300 });
    const response = await withEnv(oneRelay, `/api/shows/${showId}/live`, upgrade);
    const socket = response.webSocket!;
    const received: Message[] = [];
    let arrived = () => {};
    socket.addEventListener("message", (event) => {
      received.push(JSON.parse(event.data as string) as Message);
      arrived();
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.addEventListener("close", ({ code, reason }) => resolve({ code, reason })),
    );
    socket.accept();
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise<void>((resolve) => ((arrived = resolve), setTimeout(resolve, 50)));
    };
    // This client reads, but keeps its echo unanswered.
    for (let seat = 1; received.every((message) => message.type !== "echo"); seat++) {
      await post("/api/book-seat/", { show_id: showId, seat_id: seat });
      await until(() => received.some((message) => message.type === "changes" && message.version === seat));
    }
    const before = received.length;
    socket.send(JSON.stringify({ type: "resync", since: 0, layout: 1 }));
    await until(() => received.length > before);
    expect(received.slice(before)).toEqual([
      { type: "error", error: "Answer the echo first, then resync", reason: "echo_owed" },
    ]);
    // Past the echo's time, the next batch closes the socket instead.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await post("/api/book-seat/", { show_id: showId, seat_id: 40 });
    expect(await closed).toEqual({ code: 1008, reason: "not reading" });
    expect(received.some((message) => message.type === "changes" && message.version === 40)).toBe(false);
  });

  it("takes a right echo from a watcher that has spent its budget, and counts what it sends in bytes", async () => {
    const showId = await newShow(2, "€".repeat(200));
    const relay = env.RELAY.getByName(`${showId}#0`);
    const oneRelay = { LIVE_RELAYS: "1" };
    const client = await connect(showId, "", oneRelay);
    await client.greeting();
    // Every send now asks for an echo; the client (as the page does) answers each at once.
    await runInDurableObject(relay, (instance: LiveRelay) => Object.assign(instance.reading, { echoAfter: 1 }));
    for (let i = 0; i < 5; i++) client.socket.send(JSON.stringify({ type: "resync", since: 0, layout: 1 }));
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await client.next());
    // The first resync was answered; the others came before its echo's answer did.
    expect(answers[0]).toMatchObject({ type: "changes" });
    const refusal = { type: "error", error: "Answer the echo first, then resync", reason: "echo_owed" };
    expect(answers.slice(1)).toEqual(Array(4).fill(refusal));
    // Its budget is spent (five resyncs at once), yet its answer to the first echo kept it open:
    // the batch of the next booking reaches it, with the next echo.
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    expect(await client.next()).toMatchObject({ type: "changes", changes: [{ seat_id: 1, status: "booked" }] });
    await expect.poll(() => client.echoes).toBe(2);
    // A layout message with a name of 200 three-byte characters counts as its 700-odd bytes.
    const counted = await runInDurableObject(relay, (instance: LiveRelay) => {
      const reading = instance.reading as unknown as { bytesOf(text: string): number };
      return reading.bytesOf(JSON.stringify({ type: "layout", name: "€".repeat(200) }));
    });
    expect(counted).toBe(JSON.stringify({ type: "layout", name: "" }).length + 600);
  });

  it("answers an echo it did not send, or one already answered, with an error frame", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.greeting();
    client.socket.send(JSON.stringify({ type: "echo", nonce: "made-up" }));
    expect(await client.next()).toEqual({ type: "error", error: "No echo with this nonce is owed" });
    client.socket.send(JSON.stringify({ type: "echo" }));
    expect(await client.next()).toEqual({ type: "error", error: "echo needs the nonce it was sent" });
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    expect(await client.next()).toMatchObject({ type: "changes", changes: [{ seat_id: 1, status: "booked" }] });
  });

  it("keeps its watchers when a relay is evicted: the next batch still reaches them", async () => {
    const showId = await newShow(3);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    await evictDurableObject(env.RELAY.getByName(`${showId}#0`));
    await post("/api/book-seat/", { show_id: showId, seat_id: 2 });
    expect(await client.next()).toMatchObject({ type: "changes", since: 0, version: 1 });
    client.socket.send(JSON.stringify({ type: "resync", since: 0, layout: 1 }));
    expect(await client.next()).toEqual({ type: "snapshot", layout: 1, version: 1, statuses: "aba" });
  });

  it("a relay whose last watcher leaves stops hearing from the show", async () => {
    const showId = await newShow(3);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    expect(await relaysOf(showId)).toEqual([`${showId}#0`]);
    client.socket.close(1000, "bye");
    await expect.poll(() => relaysOf(showId)).toEqual([]);
  });

  it("a relay the show is about to forget drops its view, so its next watcher subscribes again", async () => {
    const showId = await newShow(3);
    const relay = env.RELAY.getByName(`${showId}#0`);
    const answer = await runInDurableObject(relay, async (instance: LiveRelay) => {
      const inside = instance as unknown as { ensureView(): Promise<unknown>; view: unknown };
      await inside.ensureView();
      const loaded = inside.view !== null;
      const watchers = instance.publish({ type: "changes", layout: 1, since: 0, version: 1, changes: [] });
      return { loaded, watchers, dropped: inside.view === null };
    });
    expect(answer).toEqual({ loaded: true, watchers: 0, dropped: true });
    // The show forgets it on that 0; the next watcher makes the relay subscribe afresh and hear of changes.
    await showStub(showId).unsubscribe(`${showId}#0`);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    expect(await relaysOf(showId)).toEqual([`${showId}#0`]);
    await post("/api/book-seat/", { show_id: showId, seat_id: 3 });
    expect(await client.next()).toMatchObject({ type: "changes", changes: [{ seat_id: 3, status: "booked" }] });
  });

  it("a relay drops a read of the show begun before a reset, and reads again", async () => {
    const showId = await newShow(3);
    const relay = env.RELAY.getByName(`${showId}#0`);
    const answers = await runInDurableObject(relay, async (instance: LiveRelay) => {
      const inside = instance as unknown as {
        ensureView(): Promise<{ version: number; statuses: string[] }>;
        view: { version: number } | null;
      };
      // The show answers when the test says: first with a snapshot at version 1, then at version 2.
      const pending = readsAnsweredOnCue(instance, showId);
      const first = inside.ensureView();
      await settle();
      await instance.reset(); // no watchers: the view and the read under way are dropped
      pending.shift()!(1, "baa"); // the old read comes back late
      await settle();
      const installedAfterOldRead = inside.view;
      pending.shift()!(2, "bba");
      const view = await first;
      return { installedAfterOldRead, version: view.version, statuses: view.statuses.join(""), reads: pending.length };
    });
    expect(answers).toEqual({ installedAfterOldRead: null, version: 2, statuses: "bba", reads: 0 });
  });

  it("a relay reads the show again when a newer batch reached its watchers while the read was on its way", async () => {
    const showId = await newShow(3);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    const relay = env.RELAY.getByName(`${showId}#0`);
    const answer = await runInDurableObject(relay, async (instance: LiveRelay) => {
      const inside = instance as unknown as { view: { version: number; statuses: string[] } | null };
      const pending = readsAnsweredOnCue(instance, showId);
      const reset = instance.reset();
      await settle();
      // The show answered the read at version 1; before the answer arrives, batch 2 does.
      instance.publish({
        type: "changes",
        layout: 1,
        since: 1,
        version: 2,
        changes: [{ seat_id: 2, place: 1, status: "booked", version: 2 }],
      });
      pending.shift()!(1, "baa");
      await settle();
      const readAgain = pending.length === 1;
      pending.shift()?.(2, "bba");
      await reset;
      return { readAgain, version: inside.view?.version, statuses: inside.view?.statuses.join("") };
    });
    expect(answer).toEqual({ readAgain: true, version: 2, statuses: "bba" });
    // The watcher got the batch, then the snapshot at version 2, never one at version 1.
    expect(await client.next()).toMatchObject({ type: "changes", version: 2 });
    expect(await client.next()).toMatchObject({ type: "layout" });
    expect(await client.next()).toEqual({ type: "snapshot", layout: 1, version: 2, statuses: "bba" });
  });

  it("the show forgets a relay that answers 0, unless it subscribed again meanwhile", async () => {
    const showId = await newShow(3);
    const subscribed = await runInDurableObject(showStub(showId), async (_show, state) => {
      // Relays that answer each batch when the test says, with how many watchers they have.
      const answers: ((watchers: number) => void)[] = [];
      const relays: Relays = {
        getByName: () => ({
          publish: () => new Promise<number>((resolve) => answers.push(resolve)),
          reset: () => Promise.resolve(1),
        }),
      };
      const { feed, deliver } = feedOver(state.storage.sql, showId, relays, 1);
      const send = (relay: string) =>
        deliver(relay, { kind: "batch", batch: { type: "changes", layout: 1, since: 0, version: 1, changes: [] } });
      feed.subscribe("a");
      feed.subscribe("b");
      send("a");
      send("b");
      await settle();
      feed.subscribe("b"); // a watcher came to b while the batch was on its way
      answers.shift()!(0);
      answers.shift()!(0);
      await settle();
      return state.storage.sql.exec<{ relay: string }>("SELECT relay FROM live_relays").toArray();
    });
    expect(subscribed).toEqual([{ relay: "b" }]);
  });

  it("the show sends a relay whose reset failed a reset again, not the next batch", async () => {
    const showId = await newShow(3);
    const received = await runInDurableObject(showStub(showId), async (_show, state) => {
      const calls: string[] = [];
      const relays: Relays = {
        getByName: () => ({
          publish: async (batch) => (calls.push(`publish ${batch.since}-${batch.version}`), 1),
          reset: async () => {
            calls.push("reset");
            if (calls.length === 1) throw new Error("relay unreachable");
            return 1;
          },
        }),
      };
      const { feed, deliver } = feedOver(state.storage.sql, showId, relays, 2);
      feed.subscribe("r");
      deliver("r", { kind: "reset" }); // fails
      await settle();
      deliver("r", { kind: "batch", batch: { type: "changes", layout: 2, since: 0, version: 1, changes: [] } });
      await settle();
      deliver("r", { kind: "batch", batch: { type: "changes", layout: 2, since: 1, version: 2, changes: [] } });
      await settle();
      return calls;
    });
    expect(received).toEqual(["reset", "reset", "publish 1-2"]);
  });

  it("a show that restarts before its tick sent a change has every relay read it again, and its watchers get it", async () => {
    const showId = await newShow(3);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    // Seat 2 is sold and stored, and the object stops (a deploy, a crash) before its 50 ms tick sends it.
    await sellThenStop(showId, "2");
    // Whatever wakes the show next (here a read), its relays read it again.
    expect((await statuses(showId))["2"]).toBe("booked");
    expect(await client.next()).toMatchObject({ type: "layout", layout: 1 });
    expect(await client.next()).toEqual({ type: "snapshot", layout: 1, version: 1, statuses: "aba" });
  });

  it("a show that restarts having sent its relays everything resets none of them", async () => {
    const showId = await newShow(3);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    await post("/api/book-seat/", { show_id: showId, seat_id: 2 });
    expect(await client.next()).toMatchObject({ type: "changes", version: 1 });
    // Once the relay has answered, the show notes that every relay has been sent change 1.
    const delivered = () => deliveredMark(showId);
    await expect.poll(delivered).toEqual([{ live_delivered: 1 }]);
    await evictDurableObject(showStub(showId)); // idle, it is evicted
    expect(await showStub(showId).stats()).toMatchObject({ relayMessages: 0, subscriptions: 0 });
    await client.expectQuiet();
    await post("/api/book-seat/", { show_id: showId, seat_id: 3 });
    expect(await client.next()).toMatchObject({ type: "changes", since: 1, version: 2 });
  });

  it("a show that restarts with a change it may not have sent costs each relay one read, and each watcher a fresh view", async () => {
    const showId = await newShow(3);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    await post("/api/book-seat/", { show_id: showId, seat_id: 2 });
    expect(await client.next()).toMatchObject({ type: "changes", version: 1 });
    // As if the show had stopped before its relays answered: change 1 not noted as sent to all.
    await querySql(showId, "UPDATE show SET live_delivered = 0");
    await evictDurableObject(showStub(showId));
    await expect.poll(() => showStub(showId).stats()).toMatchObject({ relayMessages: 1, subscriptions: 1 });
    expect(await client.next()).toMatchObject({ type: "layout", layout: 1 });
    expect(await client.next()).toEqual({ type: "snapshot", layout: 1, version: 1, statuses: "aba" });
    await client.expectQuiet();
    expect(await relaysOf(showId)).toEqual([`${showId}#0`]);
  });

  it("a layout change whose reset had not reached a relay when the show stopped reaches its watchers at the next start", async () => {
    const showId = await newShow(3);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    const delivered = () => deliveredMark(showId);
    // The relay cannot read the show for a moment: the rename's reset fails, and is owed.
    await refuseOneRead(showId);
    const body = JSON.stringify({ name: "Renamed", seats: 3, max_seats_per_order: 100 });
    const put = await call(`/admin/shows/${showId}`, { method: "PUT", headers: adminHeaders, body });
    expect(put.status).toBe(200);
    await expect.poll(() => showStub(showId).stats()).toMatchObject({ relayMessages: 1 });
    expect(await delivered()).toEqual([{ live_delivered: null }]); // no seat changed, but the layout did
    // The show stops before the retry (a deploy), and wakes for the next request.
    await runInDurableObject(showStub(showId), (_show, state) => state.abort("restart")).catch(() => {});
    expect(await statuses(showId)).toMatchObject({ "1": "available" });
    expect(await client.next()).toMatchObject({ type: "layout", layout: 2, name: "Renamed" });
    expect(await client.next()).toMatchObject({ type: "snapshot", layout: 2 });
    await expect.poll(delivered).toEqual([{ live_delivered: 0 }]);
  });

  it("a reset reaches every watcher, though one was greeted from a newer read than the others were passed", async () => {
    const showId = await newShow(3);
    const relay = env.RELAY.getByName(`${showId}#0`);
    const first = await connect(showId, "", { LIVE_RELAYS: "1" });
    await first.greeting();
    await evictDurableObject(relay); // idle, it hibernates: its view is gone, its socket stays
    // Seat 2 is sold; before the show's tick sends it, a second watcher is greeted with it.
    type Ticking = { feed: { tick: ReturnType<typeof setTimeout> | null } };
    const holdTick = (show: Show) => {
      const feed = (show as unknown as Ticking).feed;
      if (feed.tick !== null) clearTimeout(feed.tick);
      feed.tick = null;
    };
    await runInDurableObject(showStub(showId), (show: Show) => {
      expect(show.book(["2"], null, { route: "test", actor: "test" }, null)).toMatchObject({ ok: true });
      holdTick(show);
    });
    const second = await connect(showId, "", { LIVE_RELAYS: "1" });
    expect((await second.greeting())[1]).toMatchObject({ type: "snapshot", version: 1, statuses: "aba" });
    // The show restarts before its tick (which the second's read set again): its relays are reset,
    // and the first watcher learns of seat 2.
    await runInDurableObject(showStub(showId), holdTick);
    await evictDurableObject(showStub(showId));
    expect((await statuses(showId))["2"]).toBe("booked");
    expect(await first.next()).toMatchObject({ type: "layout", layout: 1 });
    expect(await first.next()).toEqual({ type: "snapshot", layout: 1, version: 1, statuses: "aba" });
  });

  it("tries a reset the relay could not take again a moment later, though nothing else is sent", async () => {
    const showId = await newShow(3);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    // The relay's next read of the show is refused, as a show waking under a queue of buyers may.
    await refuseOneRead(showId);
    await sellThenStop(showId, "2");
    expect((await statuses(showId))["2"]).toBe("booked"); // wakes the show: its reset fails, once
    const delivered = () => deliveredMark(showId);
    await expect.poll(() => showStub(showId).stats()).toMatchObject({ relayMessages: 1 });
    await new Promise((resolve) => setTimeout(resolve, RETRY_FIRST_MS / 4));
    expect(await delivered()).toEqual([{ live_delivered: 0 }]); // owed: change 1 not noted as sent to all
    expect(await client.next(RETRY_FIRST_MS * 3)).toMatchObject({ type: "layout", layout: 1 });
    expect(await client.next()).toEqual({ type: "snapshot", layout: 1, version: 1, statuses: "aba" });
    await expect.poll(delivered).toEqual([{ live_delivered: 1 }]);
  });

  it("a batch that reaches a relay while its first watcher is being let in is not undone by the read under way", async () => {
    const showId = await newShow(3);
    const relay = env.RELAY.getByName(`${showId}#0`);
    type Cued = { cues: ((version: number, statuses: string) => void)[] };
    await runInDurableObject(relay, (instance: LiveRelay) => {
      (instance as unknown as Cued).cues = readsAnsweredOnCue(instance, showId);
    });
    const reads = () => runInDurableObject(relay, (instance: LiveRelay) => (instance as unknown as Cued).cues.length);
    const answer = (version: number, statuses: string) =>
      runInDurableObject(relay, (instance: LiveRelay) =>
        (instance as unknown as Cued).cues.shift()!(version, statuses),
      );
    const connecting = withEnv({ LIVE_RELAYS: "1" }, `/api/shows/${showId}/live`, upgrade);
    await expect.poll(reads).toBe(1);
    // The show answered the read at version 1; batch 2 reaches the relay, no socket accepted yet, first.
    const batch = { seat_id: 2, place: 1, status: "booked" as const, version: 2 };
    const watchers = await runInDurableObject(relay, (instance: LiveRelay) =>
      instance.publish({ type: "changes", layout: 1, since: 1, version: 2, changes: [batch] }),
    );
    expect(watchers).toBe(1);
    await answer(1, "baa");
    await expect.poll(reads).toBe(1); // read again, since the answer is older than the batch
    await answer(2, "bba");
    const response = await connecting;
    expect(response.status).toBe(101);
    const [, snapshot] = await new LiveClient(response.webSocket!).greeting();
    expect(snapshot).toEqual({ type: "snapshot", layout: 1, version: 2, statuses: "bba" });
  });

  it("a relay whose unsubscribe arrives after its next watcher's subscribe still hears of changes", async () => {
    const showId = await newShow(3);
    const relay = env.RELAY.getByName(`${showId}#0`);
    type Held = { held: (() => void)[] };
    // The relay's unsubscribes wait for the test: calls through different stubs are not ordered.
    await runInDurableObject(relay, (instance: LiveRelay) => {
      const held: (() => void)[] = [];
      (instance as unknown as Held).held = held;
      (instance as unknown as { show(): unknown }).show = () => {
        const show = showStub(showId);
        return {
          subscribe: (name: string) => show.subscribe(name),
          unsubscribe: (name: string, subscription?: string) =>
            new Promise<void>((resolve) => held.push(() => void show.unsubscribe(name, subscription).then(resolve))),
        };
      };
    });
    const first = await connect(showId, "", { LIVE_RELAYS: "1" });
    await first.greeting();
    first.socket.close(1000, "bye");
    const held = () => runInDurableObject(relay, (instance: LiveRelay) => (instance as unknown as Held).held.length);
    await expect.poll(held).toBe(1);
    const second = await connect(showId, "", { LIVE_RELAYS: "1" });
    await second.greeting();
    // The first watcher's unsubscribe lands after the second's subscribe.
    await runInDurableObject(relay, (instance: LiveRelay) => (instance as unknown as Held).held.shift()!());
    await expect.poll(held).toBe(0);
    expect(await relaysOf(showId)).toEqual([`${showId}#0`]);
    await post("/api/book-seat/", { show_id: showId, seat_id: 3 });
    expect(await second.next()).toMatchObject({ type: "changes", changes: [{ seat_id: 3, status: "booked" }] });
  });

  it("closes a socket with 1013 when its resync cannot be answered because the show is too busy to read", async () => {
    const showId = await newShow(3);
    const client = await connect(showId, "", { LIVE_RELAYS: "1" });
    await client.greeting();
    await runInDurableObject(env.RELAY.getByName(`${showId}#0`), (instance: LiveRelay) => {
      (instance as unknown as { forgetView(): void }).forgetView();
      const overloaded = platformError("Durable Object is overloaded.", { overloaded: true });
      (instance as unknown as { show(): unknown }).show = () => ({ subscribe: () => Promise.reject(overloaded) });
    });
    client.socket.send(JSON.stringify({ type: "resync", since: 0, layout: 1 }));
    await expect(client.next()).rejects.toThrow("the socket closed (1013) first");
  });

  it("the show sends a relay whose batch failed a reset a moment later, though no change follows (a sold-out show)", async () => {
    const showId = await newShow(3);
    const calls = await runInDurableObject(showStub(showId), async (_show, state) => {
      const calls: string[] = [];
      const relays: Relays = {
        getByName: () => ({
          publish: async (batch) => {
            calls.push(`publish ${batch.since}-${batch.version}`);
            throw new Error("relay unreachable");
          },
          reset: async () => (calls.push("reset"), 1),
        }),
      };
      const { feed, deliver } = feedOver(state.storage.sql, showId, relays, 1);
      feed.subscribe("r");
      deliver("r", { kind: "batch", batch: { type: "changes", layout: 1, since: 0, version: 1, changes: [] } });
      await new Promise((resolve) => setTimeout(resolve, RETRY_FIRST_MS * 1.5));
      return calls;
    });
    expect(calls).toEqual(["publish 0-1", "reset"]);
  });

  it("refuses a watcher past a relay's limit with 503 and Retry-After (30 a relay in the test config)", async () => {
    const showId = await newShow(2);
    const oneRelay = { LIVE_RELAYS: "1" };
    const clients = await Promise.all(Array.from({ length: 30 }, () => connect(showId, "", oneRelay)));
    const refused = await withEnv(oneRelay, `/api/shows/${showId}/live`, upgrade);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(refused.headers.has("x-relay-full")).toBe(false);
    expect(await refused.json()).toEqual({
      error: "This show has as many live watchers as it can take; retry shortly",
      show_id: showId,
    });
    clients[0]!.socket.close(1000, "bye");
    await expectLetInAgain(() => withEnv(oneRelay, `/api/shows/${showId}/live`, upgrade));
  });

  it("refuses an address past its share of a relay with 429, while other addresses still get in", async () => {
    const showId = await newShow(2);
    const oneRelay = { LIVE_RELAYS: "1" };
    await runInDurableObject(env.RELAY.getByName(`${showId}#0`), (relay: LiveRelay) => {
      relay.addressLimit = 2;
    });
    const from = (address: string) =>
      withEnv(oneRelay, `/api/shows/${showId}/live`, { headers: { ...upgrade.headers, "cf-connecting-ip": address } });
    const held: LiveClient[] = [];
    for (let i = 0; i < 2; i++) {
      const response = await from("203.0.113.1");
      expect(response.status).toBe(101);
      held.push(new LiveClient(response.webSocket!));
    }
    const refused = await from("203.0.113.1");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("30");
    expect(await refused.json()).toEqual({
      error: "This address has as many live seat maps of this show open as it may (2 a relay); close one first",
      show_id: showId,
      limit: 2,
    });
    const other = await from("198.51.100.2");
    expect(other.status).toBe(101);
    await new LiveClient(other.webSocket!).greeting();
    // A socket the address closes gives its place back.
    held[0]!.socket.close(1000, "bye");
    await expectLetInAgain(() => from("203.0.113.1"));
  });

  it("answers 503 with Retry-After, not 500, while the show is too busy for its relay to read it", async () => {
    const showId = await newShow(2);
    const oneRelay = { LIVE_RELAYS: "1" };
    await runInDurableObject(env.RELAY.getByName(`${showId}#0`), (relay: LiveRelay) => {
      const overloaded = platformError("Durable Object is overloaded", { overloaded: true });
      (relay as unknown as { show(): unknown }).show = () => ({ subscribe: () => Promise.reject(overloaded) });
    });
    const response = await withEnv(oneRelay, `/api/shows/${showId}/live`, upgrade);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toEqual({
      error: "This show is briefly unavailable; retry shortly",
      show_id: showId,
    });
    // The show is asked once, not once per relay: every relay would ask the same busy show.
    const threeRelays = { LIVE_RELAYS: "3" };
    let asked = 0;
    for (let k = 0; k < 3; k++) {
      await runInDurableObject(env.RELAY.getByName(`${showId}#${k}`), (relay: LiveRelay) => {
        const overloaded = platformError("Durable Object is overloaded", { overloaded: true });
        (relay as unknown as { show(): unknown }).show = () => ({
          subscribe: () => (asked++, Promise.reject(overloaded)),
        });
      });
    }
    expect((await withEnv(threeRelays, `/api/shows/${showId}/live`, upgrade)).status).toBe(503);
    expect(asked).toBe(1);
    // A relay that is itself overloaded is passed over, as a full one is.
    const overloaded = platformError("Durable Object is overloaded", { overloaded: true });
    const busyRelays = { getByName: () => ({ fetch: () => Promise.reject(overloaded) }) } as unknown as Env["RELAY"];
    const passedOver = await withEnv({ RELAY: busyRelays }, `/api/shows/${showId}/live`, upgrade);
    expect(passedOver.status).toBe(503);
    expect(passedOver.headers.get("retry-after")).toBe("1");
  });

  it("a test's wait for a message fails, rather than hangs, when none comes or the socket closes", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.greeting();
    await expect(client.next(50)).rejects.toThrow("no message within 50 ms");
    const waiting = client.next();
    client.socket.close(1000, "bye");
    await expect(waiting).rejects.toThrow("the socket closed (1000) first");
    await expect(client.next()).rejects.toThrow("the socket closed (1000) first");
  });

  it.each([999, 1005, 1006, 1015, 5000])(
    "answers a close with code %i, which may not be sent back, with 1000, and the socket closes",
    async (code) => {
      const showId = await newShow(2);
      const client = await connect(showId, "", { LIVE_RELAYS: "1" });
      await client.greeting();
      const closed = new Promise<number>((resolve) =>
        client.socket.addEventListener("close", (event) => resolve(event.code)),
      );
      const relay = env.RELAY.getByName(`${showId}#0`);
      await runInDurableObject(relay, async (instance: LiveRelay, state) => {
        const [server] = state.getWebSockets();
        await instance.webSocketClose(server!, code, "", false);
      });
      expect(await closed).toBe(1000);
      await runInDurableObject(relay, (_relay, state) => expect(state.getWebSockets()).toEqual([]));
    },
  );

  it("refuses a plain request with 426, bad positions with 400, unknown shows with 404", async () => {
    const showId = await newShow(2);
    const plain = await call(`/api/shows/${showId}/live`);
    expect(plain.status).toBe(426);
    expect(await plain.json()).toEqual({ error: "This route is a WebSocket: send 'Upgrade: websocket'" });
    const bad = await call(`/api/shows/${showId}/live?since=abc&layout=1`, upgrade);
    expect(bad.status).toBe(400);
    const nobody = `nobody-${crypto.randomUUID().slice(0, 8)}`;
    const unknown = await call(`/api/shows/${nobody}/live`, upgrade);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: "Show not found", show_id: nobody });
  });
});

describe("whether a watcher reads what it is sent (ReadingWatchers)", () => {
  /** A socket that keeps what it is sent, and its attachment, as the runtime's does. */
  function fakeSocket() {
    const sent: string[] = [];
    let attachment: unknown = null;
    let closed: number | null = null;
    const socket = {
      send: (text: string) => void sent.push(text),
      close: (code: number) => void (closed = code),
      serializeAttachment: (value: unknown) => void (attachment = structuredClone(value)),
      deserializeAttachment: () => attachment,
    } as unknown as WebSocket;
    const echoes = () => sent.filter((text) => text.startsWith('{"type":"echo"')).map((text) => JSON.parse(text).nonce);
    return { socket, sent, echoes, closed: () => closed };
  }
  const ofKiB = (n: number) => JSON.stringify({ type: "changes", pad: "x".repeat(n * 1024 - 30) });

  it("never leaves a watcher held back without an echo to answer, and its answer brings it up to date", () => {
    const { socket, sent, echoes, closed } = fakeSocket();
    const reading = new ReadingWatchers(); // 32 KiB, 256 KiB, 20 s
    reading.send(socket, ofKiB(33));
    expect(echoes()).toHaveLength(1);
    // Two 100 KiB snapshots within the round trip, then the answer: 200 KiB still unconfirmed, so
    // the next echo is asked for at once.
    reading.send(socket, ofKiB(100));
    reading.send(socket, ofKiB(100));
    expect(reading.echoed(socket, echoes()[0])).toBe("read");
    expect(echoes()).toHaveLength(2);
    // A batch that does not fit is held back, and so is everything after it.
    const before = sent.length;
    reading.send(socket, ofKiB(62));
    reading.send(socket, ofKiB(1));
    expect(sent).toHaveLength(before);
    expect(reading.owesEcho(socket)).toBe(true);
    expect(reading.echoed(socket, echoes()[1])).toBe("read, stale");
    reading.send(socket, ofKiB(1));
    expect(sent).toHaveLength(before + 1);
    expect(closed()).toBeNull();
  });

  it("sends a watcher that owed an echo when its relay woke nothing more until it answers, then a fresh view", () => {
    const { socket, sent, echoes } = fakeSocket();
    const before = new ReadingWatchers(500, 1000);
    for (let i = 0; i < 9; i++) before.send(socket, ofKiB(0.0625)); // 64 bytes each: an echo after 512
    expect(echoes()).toHaveLength(1);
    // The relay hibernates and wakes: a new instance; the socket keeps its attachment.
    const woke = new ReadingWatchers(500, 1000);
    const count = sent.length;
    for (let i = 0; i < 30; i++) woke.send(socket, ofKiB(0.0625));
    expect(sent).toHaveLength(count);
    expect(woke.owesEcho(socket)).toBe(true);
    expect(woke.echoed(socket, echoes()[0])).toBe("read, stale");
    woke.send(socket, ofKiB(0.0625));
    expect(sent).toHaveLength(count + 1);
  });

  it("sends a view whole, however much waits: it stands for everything before it", () => {
    const { socket, sent, echoes } = fakeSocket();
    const reading = new ReadingWatchers(300, 1000);
    const layout = JSON.stringify({ type: "layout", pad: "x".repeat(100) });
    const snapshot = JSON.stringify({ type: "snapshot", statuses: "a".repeat(1200) });
    reading.sendView(socket, [layout, snapshot]);
    expect(sent.slice(0, 2)).toEqual([layout, snapshot]);
    reading.send(socket, ofKiB(0.0625));
    expect(sent).toHaveLength(3); // the echo, after the view; the batch is held back
    expect(reading.echoed(socket, echoes()[0])).toBe("read, stale");
    reading.sendView(socket, [layout, snapshot]);
    expect(sent.filter((text) => text === snapshot)).toHaveLength(2);
  });

  it("asks for the next echo at once when an answer leaves as much as ECHO_AFTER unconfirmed", () => {
    const { socket, echoes } = fakeSocket();
    const reading = new ReadingWatchers(100, 1000);
    for (let i = 0; i < 15; i++) reading.send(socket, ofKiB(0.0625)); // an echo after the second
    expect(echoes()).toHaveLength(1);
    // A late answer: 13 batches (832 bytes) went out after the echo.
    expect(reading.echoed(socket, echoes()[0])).toBe("read");
    expect(echoes()).toHaveLength(2);
    expect(reading.owesEcho(socket)).toBe(true);
  });

  it("sends the view an answer is owed once, however many waited on one read of the show", () => {
    const { socket, sent, echoes } = fakeSocket();
    const reading = new ReadingWatchers(300, 1000);
    for (let i = 0; i < 20; i++) reading.send(socket, ofKiB(0.0625)); // held back after 1,000 bytes
    expect(reading.echoed(socket, echoes()[0])).toBe("read, stale");
    const view = [JSON.stringify({ type: "layout" }), JSON.stringify({ type: "snapshot", statuses: "a" })];
    const count = sent.length;
    reading.sendOwedView(socket, view);
    reading.sendOwedView(socket, view);
    expect(sent.slice(count).filter((text) => !text.startsWith('{"type":"echo"'))).toEqual(view);
  });

  it("closes a watcher held back that never answers, at a send 20 s after its echo", () => {
    const { socket, sent, closed } = fakeSocket();
    const reading = new ReadingWatchers(1024, 4096, 20_000);
    for (let i = 0; i < 10; i++) reading.send(socket, ofKiB(1));
    const count = sent.length;
    expect(count).toBeLessThan(10);
    const realNow = Date.now;
    try {
      Date.now = () => realNow() + 20_001;
      reading.send(socket, ofKiB(1));
    } finally {
      Date.now = realNow;
    }
    expect(closed()).toBe(1008);
    expect(sent).toHaveLength(count);
  });
});
