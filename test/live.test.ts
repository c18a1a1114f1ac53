import { exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Show } from "../src/show/show";
import { adminHeaders, BASE, call, holdSeats, newShow, post, setClock, showStub } from "./helpers";

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

  constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data as string) as Message;
      if (this.waiting) {
        const { resolve } = this.waiting;
        this.waiting = null;
        resolve(message);
      } else {
        this.queue.push(message);
      }
    });
    socket.addEventListener("close", (event) => this.end(new Error(`the socket closed (${event.code}) first`)));
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

  /** Nothing else arrived: a ping's pong comes back, and nothing came before it. */
  async expectQuiet(): Promise<void> {
    this.socket.send(JSON.stringify({ type: "ping" }));
    expect(await this.next()).toEqual({ type: "pong" });
  }
}

async function connect(showId: string, query = ""): Promise<LiveClient> {
  const response = await exports.default.fetch(
    new Request(`${BASE}/api/shows/${showId}/live${query}`, { headers: { upgrade: "websocket" } }),
  );
  expect(response.status).toBe(101);
  return new LiveClient(response.webSocket!);
}

describe("GET /api/shows/:show_id/live", () => {
  it("greets a client with a snapshot of the seat map, its version and layout", async () => {
    const showId = await newShow(3, "Live show");
    await post("/api/book-seat/", { show_id: showId, seat_id: 2 });
    const client = await connect(showId);
    expect(await client.next()).toEqual({
      type: "snapshot",
      version: 1,
      layout: 1,
      show_id: showId,
      name: "Live show",
      seats: [
        { seat_id: 1, status: "available" },
        { seat_id: 2, status: "booked" },
        { seat_id: 3, status: "available" },
      ],
      counts: { total: 3, available: 2, held: 0, booked: 1, blocked: 0 },
    });
  });

  it("sends one small event per seat change, never the whole map", async () => {
    const showId = await newShow(4);
    const client = await connect(showId);
    await client.next();
    await post("/api/book-seat/", { show_id: showId, seat_id: 3 });
    expect(await client.next()).toEqual({ type: "seat", seat_id: 3, status: "booked", version: 1 });
    const hold = await holdSeats(showId, [1, 2]);
    expect(await client.next()).toEqual({ type: "seat", seat_id: 1, status: "held", version: 2 });
    expect(await client.next()).toEqual({ type: "seat", seat_id: 2, status: "held", version: 3 });
    await call(`/api/holds/${hold.hold_id}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${hold.hold_token}` },
    });
    expect(await client.next()).toMatchObject({ type: "seat", seat_id: 1, status: "available", version: 4 });
    expect(await client.next()).toMatchObject({ type: "seat", seat_id: 2, status: "available", version: 5 });
    await client.expectQuiet();
  });

  it("sends nothing for a refused change", async () => {
    const showId = await newShow(2);
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    const client = await connect(showId);
    await client.next();
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 1 })).status).toBe(409);
    await client.expectQuiet();
  });

  it("tells every one of 50 clients about a booking", async () => {
    const showId = await newShow(10);
    const clients = await Promise.all(Array.from({ length: 50 }, () => connect(showId)));
    await Promise.all(clients.map((client) => client.next()));
    await post("/api/book-seat/", { show_id: showId, seat_id: 7 });
    const events = await Promise.all(clients.map((client) => client.next()));
    expect(events).toEqual(clients.map(() => ({ type: "seat", seat_id: 7, status: "booked", version: 1 })));
  });

  it("reports seats freed by the expiry alarm", async () => {
    const showId = await newShow(2);
    const start = Date.now();
    await setClock(showId, start);
    await holdSeats(showId, [1], 60);
    const client = await connect(showId);
    expect(await client.next()).toMatchObject({ type: "snapshot", version: 1 });
    await setClock(showId, start + 61_000);
    await runDurableObjectAlarm(showStub(showId));
    expect(await client.next()).toEqual({ type: "seat", seat_id: 1, status: "available", version: 2 });
  });

  it("a reconnecting client gets only what it missed", async () => {
    const showId = await newShow(5);
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    await post("/api/book-seat/", { show_id: showId, seat_id: 2 });
    await post("/api/book-seat/", { show_id: showId, seat_id: 3 });
    const client = await connect(showId, "?since=1&layout=1");
    expect(await client.next()).toEqual({
      type: "changes",
      version: 3,
      layout: 1,
      changes: [
        { seat_id: 2, status: "booked", version: 2 },
        { seat_id: 3, status: "booked", version: 3 },
      ],
    });
    client.socket.send(JSON.stringify({ type: "resync", since: 3, layout: 1 }));
    expect(await client.next()).toEqual({ type: "changes", version: 3, layout: 1, changes: [] });
  });

  it("a client whose position is stale, from another layout or from the future gets a snapshot", async () => {
    const showId = await newShow(3);
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 });
    for (const query of ["?since=0&layout=2", "?since=5&layout=1"]) {
      const client = await connect(showId, query);
      expect(await client.next()).toMatchObject({ type: "snapshot", version: 1, layout: 1 });
    }
    await runInDurableObject(showStub(showId), (_show: Show, state) => {
      // More changes than a client may catch up on.
      for (let i = 0; i < 1001; i++) {
        state.storage.sql.exec(
          "INSERT INTO audit_log (seat_id, old_status, new_status, actor, route, at) VALUES ('2', 'available', 'available', 't', 't', 0)",
        );
      }
    });
    const behind = await connect(showId, "?since=0&layout=1");
    expect(await behind.next()).toMatchObject({ type: "snapshot", version: 1002 });
  });

  it("sends everyone a fresh snapshot when the layout changes", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.next();
    await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Bigger", seats: 3 }),
    });
    expect(await client.next()).toMatchObject({ type: "snapshot", layout: 2, name: "Bigger", counts: { total: 3 } });
  });

  it("answers malformed frames with an error frame and keeps working", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.next();
    const frames: (string | ArrayBuffer)[] = [
      "not json",
      "[]",
      JSON.stringify({ type: "shout" }),
      JSON.stringify({ type: "resync", since: -1, layout: 1 }),
      JSON.stringify({ type: "resync", since: "3", layout: 1 }),
      JSON.stringify({ type: "resync", since: 0, layout: 1, pad: "x".repeat(2000) }),
      new Uint8Array([1, 2, 3]).buffer,
    ];
    for (const frame of frames) {
      client.socket.send(frame);
      expect(await client.next()).toMatchObject({ type: "error", error: expect.any(String) });
    }
    await post("/api/book-seat/", { show_id: showId, seat_id: 2 });
    expect(await client.next()).toEqual({ type: "seat", seat_id: 2, status: "booked", version: 1 });
  });

  it("refuses a watcher past the show's limit with 503 and Retry-After (60 in the test config)", async () => {
    const showId = await newShow(2);
    const clients = await Promise.all(Array.from({ length: 60 }, () => connect(showId)));
    const refused = await exports.default.fetch(
      new Request(`${BASE}/api/shows/${showId}/live`, { headers: { upgrade: "websocket" } }),
    );
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(await refused.json()).toEqual({
      error: "This show has as many live watchers as it can take; retry shortly",
      show_id: showId,
    });
    clients[0]!.socket.close(1000, "bye");
    await expect
      .poll(async () => {
        const again = await exports.default.fetch(
          new Request(`${BASE}/api/shows/${showId}/live`, { headers: { upgrade: "websocket" } }),
        );
        if (again.status === 101) new LiveClient(again.webSocket!);
        return again.status;
      })
      .toBe(101);
  });

  it("a test's wait for a message fails, rather than hangs, when none comes or the socket closes", async () => {
    const showId = await newShow(2);
    const client = await connect(showId);
    await client.next();
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
      const client = await connect(showId);
      await client.next();
      const closed = new Promise<number>((resolve) =>
        client.socket.addEventListener("close", (event) => resolve(event.code)),
      );
      await runInDurableObject(showStub(showId), async (show: Show, state) => {
        const [server] = state.getWebSockets();
        await show.webSocketClose(server!, code, "", false);
      });
      expect(await closed).toBe(1000);
      await runInDurableObject(showStub(showId), (_show, state) => expect(state.getWebSockets()).toEqual([]));
    },
  );

  it("refuses a plain request with 426, bad positions with 400, unknown shows with 404", async () => {
    const plain = await call("/api/shows/1/live");
    expect(plain.status).toBe(426);
    expect(await plain.json()).toEqual({ error: "This route is a WebSocket: send 'Upgrade: websocket'" });
    const upgrade = { headers: { upgrade: "websocket" } };
    const bad = await call("/api/shows/1/live?since=abc&layout=1", upgrade);
    expect(bad.status).toBe(400);
    const nobody = `nobody-${crypto.randomUUID().slice(0, 8)}`;
    const unknown = await call(`/api/shows/${nobody}/live`, upgrade);
    expect(unknown.status).toBe(404);
    // The object's own answer, passed through: the same body as every other route's 404.
    expect(await unknown.json()).toEqual({ error: "Show not found", show_id: nobody });
  });
});
