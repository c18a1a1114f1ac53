import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SHOW_MIGRATIONS } from "../src/show/schema";
import type { Show } from "../src/show/show";
import { applyMigrations } from "../src/storage/migrations";
import { bearer, call, newShow, post, querySql, setClock, showStub, storedBookings } from "./helpers";

const key = () => ({ "idempotency-key": crypto.randomUUID() });

describe("Idempotency-Key", () => {
  it("replays the first answer, status and body, for the same key and body", async () => {
    const showId = await newShow(3);
    const headers = key();
    const first = await post("/api/book-seat/", { show_id: showId, seat_id: 1 }, headers);
    const retry = await post("/api/book-seat/", { seat_id: 1, show_id: showId }, headers);
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(await retry.json()).toEqual(await first.json());
    expect(await storedBookings(showId)).toHaveLength(1);
    // The object decided one order; the replay is not another.
    const stats = await runInDurableObject(showStub(showId), (show: Show) => show.stats());
    expect(stats.orders).toBe(1);
  });

  it("keeps no refusal: it changed nothing, so its retry is answered afresh, and failing requests store nothing", async () => {
    const showId = await newShow(3);
    const taken = await post("/api/book-seat/", { show_id: showId, seat_id: 2 });
    const headers = key();
    const first = await post(`/api/shows/${showId}/bookings`, { seat_ids: [1, 2] }, headers);
    expect(first.status).toBe(409);
    const unknown = await post(`/api/shows/${showId}/bookings`, { seat_ids: ["x1", "x2"] }, key());
    expect(unknown.status).toBe(404);
    expect(await querySql(showId, "SELECT lookup FROM idempotent_answers")).toEqual([]);
    // The seat is freed; the retry under the same key books both.
    const { booking } = await taken.json<{ booking: { id: string; booking_token: string } }>();
    const cancel = await call(`/api/bookings/${booking.id}`, {
      method: "DELETE",
      headers: bearer(booking.booking_token),
    });
    expect(cancel.status).toBe(200);
    const retry = await post(`/api/shows/${showId}/bookings`, { seat_ids: [1, 2] }, headers);
    expect(retry.status).toBe(200);
    const again = await post(`/api/shows/${showId}/bookings`, { seat_ids: [1, 2] }, headers);
    expect({ status: again.status, body: await again.json() }).toEqual({ status: 200, body: await retry.json() });
  });

  it("answers 422 for the same key with a different body, and changes nothing", async () => {
    const showId = await newShow(3);
    const headers = key();
    await post("/api/book-seat/", { show_id: showId, seat_id: 1 }, headers);
    const other = await post("/api/book-seat/", { show_id: showId, seat_id: 2 }, headers);
    expect(other.status).toBe(422);
    expect(await other.json()).toEqual({ error: "This Idempotency-Key was already used with a different request" });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "1", user_id: null }]);
  });

  it("scopes keys to the show: one key works independently on two shows", async () => {
    const [a, b] = await Promise.all([newShow(2), newShow(2)]);
    const headers = key();
    expect((await post("/api/book-seat/", { show_id: a, seat_id: 1 }, headers)).status).toBe(200);
    expect((await post("/api/book-seat/", { show_id: b, seat_id: 1 }, headers)).status).toBe(200);
    expect(await storedBookings(b)).toHaveLength(1);
  });

  it("holds a key for 24 hours, then treats it as new", async () => {
    const showId = await newShow(3);
    const start = Date.now();
    await setClock(showId, start);
    const headers = key();
    const hold = await post(`/api/shows/${showId}/holds`, { seat_ids: [1], ttl_seconds: 60 }, headers);
    expect(hold.status).toBe(201);
    await setClock(showId, start + 23 * 3600_000);
    const replay = await post(`/api/shows/${showId}/holds`, { seat_ids: [1], ttl_seconds: 60 }, headers);
    expect(await replay.json()).toEqual(await hold.json());
    await setClock(showId, start + 24 * 3600_000 + 1);
    const fresh = await post(`/api/shows/${showId}/holds`, { seat_ids: [1], ttl_seconds: 60 }, headers);
    expect(fresh.status).toBe(201);
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM holds")).toEqual([{ n: 2 }]);
    // The day-old answer gave way to the new one.
    expect(await querySql(showId, "SELECT COUNT(*) AS n FROM idempotent_answers")).toEqual([{ n: 1 }]);
  });

  it("rejects a malformed key with 400", async () => {
    const showId = await newShow(1);
    for (const bad of ["has space in it, sixteen+", "too-short-key"]) {
      const rejected = await post("/api/book-seat/", { show_id: showId, seat_id: 1 }, { "idempotency-key": bad });
      expect(rejected.status).toBe(400);
    }
    const response = await post("/api/book-seat/", { show_id: showId, seat_id: 1 }, { "idempotency-key": "short" });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: "Idempotency-Key must be 16-255 visible ASCII characters; a random UUID is best",
      field: "Idempotency-Key",
    });
    expect(await storedBookings(showId)).toEqual([]);
  });

  it('treats requests that mean the same as the same: 10 and "10", key order, ignored fields', async () => {
    const showId = await newShow(3);
    const headers = key();
    const first = await post("/api/book-seat/", { show_id: showId, seat_id: 2 }, headers);
    const deep = JSON.parse("[".repeat(2000) + "]".repeat(2000));
    const same = await post("/api/book-seat/", { seat_id: "2", show_id: showId, ignored: deep }, headers);
    expect(same.status).toBe(200);
    expect(await same.json()).toEqual(await first.json());
    expect(await storedBookings(showId)).toHaveLength(1);
  });

  it("replays a hold's answer only to the hold's own token, and a stranger's try spoils nothing", async () => {
    const showId = await newShow(3);
    const hold = await (
      await post(`/api/shows/${showId}/holds`, { seat_ids: [1, 2] })
    ).json<{ hold_id: string; hold_token: string }>();
    const headers = key();
    const confirm = (token: string) =>
      call(`/api/holds/${hold.hold_id}/confirm`, {
        method: "POST",
        headers: { ...headers, authorization: `Bearer ${token}` },
      });
    const first = await confirm(hold.hold_token);
    expect(first.status).toBe(200);
    const firstBody = await first.text();
    expect(firstBody).toContain("booking_token");

    const stranger = await confirm("ht_someone-else");
    expect(stranger.status).toBe(403);
    expect(await stranger.text()).not.toContain("booking_token");

    const retry = await confirm(hold.hold_token);
    expect({ status: retry.status, body: await retry.text() }).toEqual({ status: 200, body: firstBody });
  });

  it("100 simultaneous retries with one key: exactly one booking, and every retry gets the same answer", async () => {
    const showId = await newShow(5);
    const headers = key();
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        post("/api/book-seat/", { show_id: showId, seat_id: 4, user_id: "mobile" }, headers),
      ),
    );
    const bodies = await Promise.all(responses.map((r) => r.text()));
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ message: "Seat booked successfully", booking: { seat_id: 4 } });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "4", user_id: "mobile" }]);
  });
});

describe("stored answers", () => {
  it("reveal no token and no key: only a hash names each, and each answer is sealed", async () => {
    const showId = await newShow(4);
    const keys = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const hold = await post(`/api/shows/${showId}/holds`, { seat_ids: [1, 2] }, { "idempotency-key": keys[0]! });
    const { hold_id, hold_token } = await hold.json<{ hold_id: string; hold_token: string }>();
    const confirm = await call(`/api/holds/${hold_id}/confirm`, {
      method: "POST",
      headers: { ...bearer(hold_token), "idempotency-key": keys[1]! },
    });
    const booking = await post("/api/book-seat/", { show_id: showId, seat_id: 3 }, { "idempotency-key": keys[2]! });
    const answers = [await confirm.text(), await booking.text()];
    const tokens = [hold_token, ...answers.flatMap((text) => text.match(/bt_[A-Za-z0-9_-]{43}/g) ?? [])];
    expect(tokens).toHaveLength(4);

    const rows = await runInDurableObject(showStub(showId), (_show, state) =>
      state.storage.sql
        .exec<{ lookup: string; fingerprint: string; sealed: ArrayBuffer }>("SELECT * FROM idempotent_answers")
        .toArray()
        .map((row) => ({ ...row, sealed: new TextDecoder("latin1").decode(row.sealed) })),
    );
    expect(rows).toHaveLength(3);
    const stored = JSON.stringify(rows);
    for (const secret of [...tokens, ...keys, "ht_", "bt_", "booking_token", "hold_token"]) {
      expect(stored).not.toContain(secret);
    }
    // The clear table of earlier versions is gone.
    expect(await querySql(showId, "SELECT name FROM sqlite_master WHERE name = 'idempotency'")).toEqual([]);

    // The keys' holders still get their answers, identical.
    const replay = await post("/api/book-seat/", { show_id: showId, seat_id: 3 }, { "idempotency-key": keys[2]! });
    expect(await replay.text()).toBe(answers[1]);
  });

  it("a sealed answer cannot be opened with another key, nor moved to another key's row", async () => {
    const showId = await newShow(4);
    const [mine, theirs] = [crypto.randomUUID(), crypto.randomUUID()];
    const first = await post("/api/book-seat/", { show_id: showId, seat_id: 1 }, { "idempotency-key": mine });
    expect(first.status).toBe(200);
    expect((await post("/api/book-seat/", { show_id: showId, seat_id: 2 }, { "idempotency-key": theirs })).status).toBe(
      200,
    );
    // Copy my sealed answer onto their row: their retry must not come back with my booking.
    await runInDurableObject(showStub(showId), (_show, state) => {
      const rows = state.storage.sql.exec<{ lookup: string; sealed: ArrayBuffer }>(
        "SELECT lookup, sealed FROM idempotent_answers ORDER BY created_at, rowid",
      );
      const [a, b] = rows.toArray();
      state.storage.sql.exec("UPDATE idempotent_answers SET sealed = ? WHERE lookup = ?", a!.sealed, b!.lookup);
    });
    const moved = await post("/api/book-seat/", { show_id: showId, seat_id: 2 }, { "idempotency-key": theirs });
    expect(moved.status).toBe(500);
    expect(await moved.json()).toEqual({ error: "Internal server error" });
  });

  it("answers stored in the clear by an earlier version are sealed by a migration, and still replay", async () => {
    const showId = await newShow(4);
    const key = crypto.randomUUID();
    const first = await post(
      "/api/book-seat/",
      { show_id: showId, seat_id: 1, user_id: "old" },
      { "idempotency-key": key },
    );
    const firstBody = await first.text();
    const { booking } = JSON.parse(firstBody) as { booking: unknown };

    await runInDurableObject(showStub(showId), (_show, state) => {
      const sql = state.storage.sql;
      const { fingerprint, created_at } = sql
        .exec<{ fingerprint: string; created_at: number }>("SELECT fingerprint, created_at FROM idempotent_answers")
        .one();
      // The database as the version before sealing left it: the key and the answer in the clear.
      sql.exec("DROP TABLE idempotent_answers");
      sql.exec("DELETE FROM _migrations WHERE id IN (4, 5)");
      sql.exec(
        "CREATE TABLE idempotency (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL, created_at INTEGER NOT NULL)",
      );
      sql.exec(
        "INSERT INTO idempotency (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)",
        key,
        fingerprint,
        JSON.stringify({ ok: true, bookings: [booking] }),
        created_at,
      );

      applyMigrations(state.storage, SHOW_MIGRATIONS);
      expect(sql.exec("SELECT name FROM sqlite_master WHERE name = 'idempotency'").toArray()).toEqual([]);
      const sealed = sql.exec<{ sealed: ArrayBuffer }>("SELECT sealed FROM idempotent_answers").one().sealed;
      expect(new TextDecoder("latin1").decode(sealed)).not.toContain("bt_");
    });

    const retry = await post(
      "/api/book-seat/",
      { show_id: showId, seat_id: 1, user_id: "old" },
      { "idempotency-key": key },
    );
    expect({ status: retry.status, body: await retry.text() }).toEqual({ status: 200, body: firstBody });
    expect(await storedBookings(showId)).toEqual([{ seat_id: "1", user_id: "old" }]);
  });
});
