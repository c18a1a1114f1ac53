import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Show } from "../src/show/show";
import { SHOW_MIGRATIONS } from "../src/show/schema";
import { CATALOG_MIGRATIONS } from "../src/catalog/schema";
import { isRefusedSale } from "../src/show/queries";
import { applyMigrations } from "../src/storage/migrations";
import { adminHeaders, call, newShow, showStub } from "./helpers";

const ORIGIN = { route: "test", actor: "test" };

describe("schema migrations", () => {
  it("record every applied migration once, in order", async () => {
    const showId = await newShow(2);
    const applied = await runInDurableObject(showStub(showId), (_show, state) =>
      state.storage.sql.exec("SELECT id, name FROM _migrations ORDER BY id").toArray(),
    );
    expect(applied).toEqual(SHOW_MIGRATIONS.map(({ id, name }) => ({ id, name })));
  });

  it("applying them again changes nothing", async () => {
    const showId = await newShow(2);
    await runInDurableObject(showStub(showId), (_show, state) => {
      const before = state.storage.sql.exec("SELECT id, applied_at FROM _migrations").toArray();
      applyMigrations(state.storage, SHOW_MIGRATIONS);
      expect(state.storage.sql.exec("SELECT id, applied_at FROM _migrations").toArray()).toEqual(before);
    });
  });

  it("apply a later migration to an object built by earlier ones", async () => {
    const showId = await newShow(2);
    const next = {
      id: SHOW_MIGRATIONS.at(-1)!.id + 1,
      name: "test-only column",
      sql: "ALTER TABLE seats ADD COLUMN note TEXT",
    };
    await runInDurableObject(showStub(showId), (_show, state) => {
      applyMigrations(state.storage, [...SHOW_MIGRATIONS, next]);
      const columns = state.storage.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('seats')").toArray();
      expect(columns.map((c) => c.name)).toEqual([
        "seat_id",
        "position",
        ...["zone", "row_label", "seat_number", "category", "x", "y", "run"],
        "note",
      ]);
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM seats").one()).toEqual({ n: 2 });
    });
  });

  it("give a show made before seating plans the plan of its seat list, keeping its bookings", async () => {
    const stub = env.SHOW.getByName(`t-${crypto.randomUUID()}`);
    const beforePlans = SHOW_MIGRATIONS.filter((migration) => migration.id < 8);
    await runInDurableObject(stub, (_show, state) => {
      applyMigrations(state.storage, beforePlans);
      const sql = state.storage.sql;
      sql.exec(
        "INSERT INTO show (singleton, show_id, name, created_at, updated_at) VALUES (1, 'old', 'Old show', 0, 0)",
      );
      ["B7", "A1", "A2"].forEach((seat, position) => sql.exec("INSERT INTO seats VALUES (?, ?)", seat, position));
      sql.exec("INSERT INTO bookings (id, seat_id, booked_at) VALUES ('old.booking', 'A1', 0)");
      applyMigrations(state.storage, SHOW_MIGRATIONS);
      expect(
        sql.exec("SELECT seat_id, zone, row_label, seat_number, category FROM seats ORDER BY position").toArray(),
      ).toEqual([
        { seat_id: "B7", zone: "Hall", row_label: "1", seat_number: "1", category: "General" },
        { seat_id: "A1", zone: "Hall", row_label: "1", seat_number: "2", category: "General" },
        { seat_id: "A2", zone: "Hall", row_label: "1", seat_number: "3", category: "General" },
      ]);
    });
    // Started again, the object reads the show it finds; its plan is served like any other.
    await evictDurableObject(stub);
    const plan = await stub.plan();
    expect(plan.ok).toBe(true);
    const served = JSON.parse((plan as { json: string }).json);
    expect(served.plan.zones[0].rows[0].seats.map((seat: { seat_guid: string }) => seat.seat_guid)).toEqual([
      "B7",
      "A1",
      "A2",
    ]);
    const map = await stub.seatMapJson();
    expect(JSON.parse((map as { json: string }).json).seats).toEqual([
      { seat_id: "B7", status: "available" },
      { seat_id: "A1", status: "booked" },
      { seat_id: "A2", status: "available" },
    ]);
  });

  it("lay out again the plan of a show imported before polygon stages were centred and rows of two saw aisles", async () => {
    const seat = (guid: string, x: number) => ({
      seat_guid: guid,
      seat_number: guid,
      position: { x, y: 0 },
      category: "A",
    });
    const stagePoints = [
      { x: 0, y: 0 },
      { x: 570, y: 0 },
      { x: 570, y: 40 },
      { x: 0, y: 40 },
    ];
    const plan = {
      name: "Boxes",
      categories: [{ name: "A" }],
      zones: [
        {
          name: "Hall",
          position: { x: 0, y: 0 },
          areas: [{ shape: "polygon", position: { x: 0, y: -80 }, polygon: { points: stagePoints }, text: "Stage" }],
          rows: [
            { row_number: "A", position: { x: 0, y: 0 }, seats: [seat("A-1", -500), seat("A-2", 500)] },
            { row_number: "B", position: { x: 0, y: 30 }, seats: [seat("B-1", 275), seat("B-2", 295)] },
          ],
        },
      ],
    };
    const showId = `t-${crypto.randomUUID()}`;
    const put = await call(`/admin/shows/${showId}`, {
      method: "PUT",
      headers: adminHeaders,
      body: JSON.stringify({ name: "Boxes", plan }),
    });
    expect(put.status).toBe(201);
    const layout = (sql: SqlStorage) => ({
      focal: sql.exec("SELECT focal_x AS x, focal_y AS y FROM show").one(),
      runs: sql.exec("SELECT seat_id, run FROM seats ORDER BY position").toArray(),
    });
    await runInDurableObject(showStub(showId), (_show, state) => {
      const sql = state.storage.sql;
      const now = layout(sql);
      expect(now.focal).toEqual({ x: 285, y: -60 });
      // As the code before migration 12 laid it out: the stage at its anchor, row A one run.
      sql.exec("UPDATE show SET focal_x = 0, focal_y = -80");
      sql.exec("UPDATE seats SET run = 0 WHERE seat_id IN ('A-1', 'A-2')");
      sql.exec("DELETE FROM _migrations WHERE id = 12");
      applyMigrations(state.storage, SHOW_MIGRATIONS);
      expect(layout(sql)).toEqual(now);
      expect(new Set(now.runs.filter((row) => String(row.seat_id).startsWith("A")).map((row) => row.run)).size).toBe(2);
    });
  });

  it("roll back entirely when one migration fails", async () => {
    const stub = showStub(await newShow(2));
    await runInDurableObject(stub, (_show, state) => {
      const broken = [
        { id: 100, name: "fine", sql: "CREATE TABLE extra (x INTEGER)" },
        { id: 101, name: "broken", sql: "CREATE TABLE nonsense (" },
      ];
      expect(() => applyMigrations(state.storage, [...SHOW_MIGRATIONS, ...broken])).toThrow();
      const tables = state.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'extra'").toArray();
      expect(tables).toEqual([]);
      expect(state.storage.sql.exec("SELECT MAX(id) AS last FROM _migrations").one()).toEqual({
        last: SHOW_MIGRATIONS.at(-1)!.id,
      });
    });
  });

  it("are not run for a show that was never created: asking for one stores nothing", async () => {
    const stub = env.SHOW.getByName(`t-${crypto.randomUUID()}`);
    await runInDurableObject(stub, (show: Show, state) => {
      expect(show.summaryPush()).toEqual({ ok: false, reason: "unknown_show" });
      expect(state.storage.sql.exec("SELECT name FROM sqlite_master").toArray()).toEqual([]);
    });
  });

  it("refuse a list whose ids do not increase", async () => {
    const stub = env.SHOW.getByName(`t-${crypto.randomUUID()}`);
    await runInDurableObject(stub, (_show, state) => {
      const unordered = [
        { id: 2, name: "b", sql: "SELECT 1" },
        { id: 1, name: "a", sql: "SELECT 1" },
      ];
      expect(() => applyMigrations(state.storage, unordered)).toThrow(
        "Migration ids must increase: 2 is followed by 1",
      );
    });
  });

  it("give the catalog its own schema", async () => {
    const stub = env.CATALOG.getByName("catalog");
    const applied = await runInDurableObject(stub, (_catalog, state) =>
      state.storage.sql.exec("SELECT id, name FROM _migrations ORDER BY id").toArray(),
    );
    expect(applied).toEqual(CATALOG_MIGRATIONS.map(({ id, name }) => ({ id, name })));
  });
});

describe("the last guard against a double sale", () => {
  it("is a UNIQUE constraint: a second booking row for a seat cannot be written", async () => {
    const showId = await newShow(2);
    await runInDurableObject(showStub(showId), (show: Show, state) => {
      expect(show.book(["1"], "first", ORIGIN, null)).toMatchObject({ ok: true });
      expect(() =>
        state.storage.sql.exec(
          "INSERT INTO bookings (id, seat_id, user_id, booked_at) VALUES (?, ?, ?, ?)",
          crypto.randomUUID(),
          "1",
          "second",
          Date.now(),
        ),
      ).toThrow(/UNIQUE constraint failed: bookings.seat_id/);
      expect(state.storage.sql.exec("SELECT COUNT(*) AS n FROM bookings").one()).toEqual({ n: 1 });
    });
  });

  it("is the sale's own statement: it sells only a free seat, and writes the booking and its log entry or neither", async () => {
    const showId = await newShow(4);
    const at = Date.now();
    const SALE = `INSERT INTO sales (id, seat_id, user_id, at, token_hash, hold_id, pass, from_status, actor, route)
                  VALUES (?, ?, NULL, ?, 'hash', NULL, NULL, 'available', 'test', 'test')`;
    await runInDurableObject(showStub(showId), (show: Show, state) => {
      const { sql } = state.storage;
      const rows = () => ({
        bookings: sql.exec("SELECT seat_id FROM bookings ORDER BY seat_id").toArray(),
        logged: sql.exec("SELECT seat_id, old_status, new_status FROM audit_log ORDER BY seq").toArray(),
      });
      expect(show.block(["1"], "broken", ORIGIN, null)).toMatchObject({ ok: true });
      expect(show.hold({ seatIds: ["2"] }, null, 600, ORIGIN, null)).toMatchObject({ ok: true });
      const before = rows();
      // Written straight to the database, past every check the object makes first.
      expect(() => sql.exec(SALE, `${showId}.a`, "1", at)).toThrow(/seat not available/);
      expect(() => sql.exec(SALE, `${showId}.b`, "2", at)).toThrow(/seat not available/);
      expect(rows()).toEqual(before);
      sql.exec(SALE, `${showId}.c`, "3", at);
      expect(() => sql.exec(SALE, `${showId}.d`, "3", at)).toThrow(/UNIQUE constraint failed: bookings.seat_id/);
      expect(rows()).toEqual({
        bookings: [{ seat_id: "3" }],
        logged: [...before.logged, { seat_id: "3", old_status: "available", new_status: "booked" }],
      });
      // A hold past its expiry holds nothing, swept or not, as in the seat's status.
      expect(show.hold({ seatIds: ["4"] }, null, 600, ORIGIN, null)).toMatchObject({ ok: true });
      expect(() => sql.exec(SALE, `${showId}.e`, "4", at + 599_000)).toThrow(/seat not available/);
      sql.exec(SALE, `${showId}.f`, "4", at + 700_000);
      expect(rows().bookings).toEqual([{ seat_id: "3" }, { seat_id: "4" }]);
    });
  });

  it("tells its refusals from other failures, so that only a refusal becomes a 409", async () => {
    const showId = await newShow(3);
    await runInDurableObject(showStub(showId), (show: Show, state) => {
      const failure = (run: () => void): unknown => {
        try {
          run();
        } catch (error) {
          return error;
        }
        throw new Error("expected the statement to fail");
      };
      const sale = (id: string, seat: string) =>
        state.storage.sql.exec(
          `INSERT INTO sales (id, seat_id, user_id, at, token_hash, hold_id, pass, from_status, actor, route)
           VALUES (?, ?, NULL, ?, 'hash', NULL, NULL, 'available', 'test', 'test')`,
          id,
          seat,
          Date.now(),
        );
      expect(show.block(["1"], "broken", ORIGIN, null)).toMatchObject({ ok: true });
      sale(`${showId}.a`, "2");
      expect(isRefusedSale(failure(() => sale(`${showId}.b`, "1")))).toBe(true); // blocked
      expect(isRefusedSale(failure(() => sale(`${showId}.c`, "2")))).toBe(true); // booked
      // A seat the layout lacks fails the foreign key: a bug upstream, not a refusal.
      expect(isRefusedSale(failure(() => sale(`${showId}.d`, "99")))).toBe(false);
      // So does a booking id used twice.
      expect(isRefusedSale(failure(() => sale(`${showId}.a`, "3")))).toBe(false);
      expect(isRefusedSale(new Error("disk I/O error"))).toBe(false);
    });
  });

  it("Show.book answers from the object without awaiting anything", async () => {
    const showId = await newShow(2);
    await runInDurableObject(showStub(showId), (show: Show) => {
      // A Promise here would mean an await crept in between the check and the insert.
      const result = show.book(["2"], null, ORIGIN, null);
      expect(result).not.toBeInstanceOf(Promise);
      expect(result).toMatchObject({ ok: true, bookings: [{ seat_id: 2 }] });
      expect(show.book(["2"], null, ORIGIN, null)).toEqual({ ok: false, reason: "unavailable", seat_ids: [2] });
    });
  });
});
