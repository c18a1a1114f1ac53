import type { Id } from "../ids";
import type { PlacedSeat } from "../venue/layout";
import type { AuditEntry, Origin, SeatStatus } from "./types";

/**
 * Every SQL statement of a show's database. Each function takes the database and named
 * values; only placeholders carry values, never string building. Every query string is a
 * constant, so workerd prepares each once.
 */

export interface ShowRow extends Record<string, SqlStorageValue> {
  show_id: string;
  name: string;
  /** Grows by one with every layout change, so a live client knows its seat list is stale. */
  layout_version: number;
  /** Seats one hold or group booking may name. */
  max_seats_per_order: number;
  /** The SHA-256 (hex) of the plan's bytes as a PUT last sent them, as noted (see `notePlanDigest`), if known. */
  plan_digest: string | null;
}

export interface HoldRow extends Record<string, SqlStorageValue> {
  id: string;
  token_hash: string;
  user_id: string | null;
  state: "active" | "confirmed" | "released" | "expired";
  created_at: number;
  expires_at: number;
  /** The queue ticket whose admission pass made it, if any. */
  pass: string | null;
}

/** An audit entry as stored: the seat id as text, the time in ms. */
export type AuditRow = Omit<AuditEntry, "seat_id" | "at"> & { seat_id: string; at: number };

export interface IdempotencyRow extends Record<string, SqlStorageValue> {
  fingerprint: string;
  sealed: ArrayBuffer;
}

// ---- The show and its layout --------------------------------------------------------------

export function readShow(sql: SqlStorage): ShowRow | null {
  return (
    sql
      .exec<ShowRow>("SELECT show_id, name, layout_version, max_seats_per_order, plan_digest FROM show")
      .toArray()[0] ?? null
  );
}

/** The show's name, or null before it is created: for migrations, which run before later ones add columns. */
export function showName(sql: SqlStorage): string | null {
  return sql.exec<{ name: string }>("SELECT name FROM show").toArray()[0]?.name ?? null;
}

/**
 * Notes the digest of the plan's bytes as sent, once the plan stored is known to be theirs, with
 * the layout version it is noted at (`<digest>@<version>`); null forgets it.
 */
export function notePlanDigest(sql: SqlStorage, { digest }: { digest: string | null }): void {
  sql.exec("UPDATE show SET plan_digest = ? || '@' || layout_version", digest);
}

/** Creates the show's row, or renames it, sets its order limit and counts one more layout version. */
export function upsertShow(
  sql: SqlStorage,
  show: { showId: Id; name: string; maxSeatsPerOrder: number; at: number },
): void {
  sql.exec(
    `INSERT INTO show (singleton, show_id, name, max_seats_per_order, created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?)
     ON CONFLICT (singleton) DO UPDATE SET name = excluded.name, max_seats_per_order = excluded.max_seats_per_order,
                                           updated_at = excluded.updated_at, layout_version = layout_version + 1`,
    show.showId,
    show.name,
    show.maxSeatsPerOrder,
    show.at,
    show.at,
  );
}

export function seatIds(sql: SqlStorage): Id[] {
  return sql
    .exec<{ seat_id: string }>("SELECT seat_id FROM seats ORDER BY position")
    .toArray()
    .map((row) => row.seat_id);
}

/** A seat as the layout places it (see `PlacedSeat`). */
export interface SeatRow extends Record<string, SqlStorageValue> {
  seat_id: string;
  zone: string;
  row_label: string;
  seat_number: string;
  category: string;
  x: number;
  y: number;
  run: number;
}

/** Every seat in plan order, with where it is. */
export function placedSeats(sql: SqlStorage): SeatRow[] {
  // Read as arrays and made objects here: the runtime's row objects took twice as long (170 ms
  // against 85 at 100,000 seats), every time the object woke.
  const rows: SeatRow[] = [];
  const read = sql.exec(
    "SELECT seat_id, zone, row_label, seat_number, category, x, y, run FROM seats ORDER BY position",
  );
  for (const [seat_id, zone, row_label, seat_number, category, x, y, run] of read.raw()) {
    rows.push({ seat_id, zone, row_label, seat_number, category, x, y, run } as SeatRow);
  }
  return rows;
}

/** Puts a seat at its place in the layout, or moves it there; its bookings and holds stay. */
export function placeSeat(sql: SqlStorage, { seat, position }: { seat: PlacedSeat; position: number }): void {
  sql.exec(
    `INSERT INTO seats (seat_id, position, zone, row_label, seat_number, category, x, y, run)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (seat_id) DO UPDATE SET position = excluded.position, zone = excluded.zone,
       row_label = excluded.row_label, seat_number = excluded.seat_number, category = excluded.category,
       x = excluded.x, y = excluded.y, run = excluded.run`,
    seat.id,
    position,
    seat.zone,
    seat.row,
    seat.number,
    seat.category,
    seat.x,
    seat.y,
    seat.run,
  );
}

export function setRun(sql: SqlStorage, { seat, run }: { seat: Id; run: number }): void {
  sql.exec("UPDATE seats SET run = ? WHERE seat_id = ?", run, seat);
}

export function categories(sql: SqlStorage): { name: string; color: string }[] {
  return sql.exec<{ name: string; color: string }>("SELECT name, color FROM categories ORDER BY position").toArray();
}

export function replaceCategories(sql: SqlStorage, { categories }: { categories: { name: string; color: string }[] }) {
  sql.exec("DELETE FROM categories");
  categories.forEach(({ name, color }, position) =>
    sql.exec("INSERT INTO categories (position, name, color) VALUES (?, ?, ?)", position, name, color),
  );
}

export function focal(sql: SqlStorage): { x: number; y: number } {
  return sql.exec<{ x: number; y: number }>("SELECT focal_x AS x, focal_y AS y FROM show").one();
}

export function setFocal(sql: SqlStorage, { x, y }: { x: number; y: number }): void {
  sql.exec("UPDATE show SET focal_x = ?, focal_y = ?", x, y);
}

/**
 * The plan's JSON is kept in parts: SQLite values in a Durable Object are limited to 2 MB, and a
 * 100,000-seat plan is larger. Each part is at most this many characters (at most 3 bytes each).
 */
export const PLAN_PART_CHARS = 500_000;

export function replacePlan(sql: SqlStorage, { json }: { json: string }): void {
  sql.exec("DELETE FROM plan_parts");
  for (let part = 0, from = 0; from < json.length; part++) {
    let to = Math.min(from + PLAN_PART_CHARS, json.length);
    // Never between the two halves of a surrogate pair: each half alone would be stored as U+FFFD.
    if (isHighSurrogate(json.charCodeAt(to - 1)) && to < json.length) to--;
    sql.exec("INSERT INTO plan_parts (part, text) VALUES (?, ?)", part, json.slice(from, to));
    from = to;
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

export function planJson(sql: SqlStorage): string {
  return sql
    .exec<{ text: string }>("SELECT text FROM plan_parts ORDER BY part")
    .toArray()
    .map((row) => row.text)
    .join("");
}

/** Removes a seat from the layout. Only expired holds can still name it; they no longer hold it. */
export function dropSeat(sql: SqlStorage, { seat }: { seat: Id }): void {
  sql.exec("DELETE FROM held_seats WHERE seat_id = ?", seat);
  sql.exec("DELETE FROM blocks WHERE seat_id = ?", seat);
  sql.exec("DELETE FROM seats WHERE seat_id = ?", seat);
}

// ---- Seat status --------------------------------------------------------------------------

/**
 * Whether hold `h` is live: a hold counts only while it is active and unexpired, so an expired hold
 * is free whether or not the sweep has run yet. Its `?` takes the time. Every query here says it
 * so; the `sales` view's trigger (migration 11) says the same when it sells a seat, and a change to
 * one is a change to both. (`state = 'active'` is spelt out, as the partial indexes on holds need.)
 */
const LIVE_HOLD = "h.state = 'active' AND h.expires_at > ?";

/** A seat's status (a hold's only while it is live: see `LIVE_HOLD`). */
const SEAT_STATUS_SQL = `
  SELECT s.seat_id,
         CASE WHEN EXISTS (SELECT 1 FROM blocks WHERE seat_id = s.seat_id) THEN 'blocked'
              WHEN EXISTS (SELECT 1 FROM bookings WHERE seat_id = s.seat_id) THEN 'booked'
              WHEN EXISTS (SELECT 1 FROM held_seats hs JOIN holds h ON h.id = hs.hold_id
                            WHERE hs.seat_id = s.seat_id AND ${LIVE_HOLD}) THEN 'held'
              ELSE 'available' END AS status
    FROM seats s`;

export function seatStatus(sql: SqlStorage, { seat, now }: { seat: Id; now: number }): SeatStatus {
  return sql.exec<{ status: SeatStatus }>(`${SEAT_STATUS_SQL} WHERE s.seat_id = ?`, now, seat).one().status;
}

/**
 * The seats that are not available, with their status: a seat booked, blocked, or held by a live
 * hold (as `SEAT_STATUS_SQL` says, blocked before booked before held, were one ever two of them;
 * so a seat comes last under the status that wins). Costs the seats taken, where asking every
 * seat's status costs every seat (85 ms at 100,000).
 */
export function takenSeats(sql: SqlStorage, { now }: { now: number }): { seat_id: Id; status: SeatStatus }[] {
  return sql
    .exec<{ seat_id: string; status: SeatStatus }>(
      `SELECT hs.seat_id, 'held' AS status FROM held_seats hs JOIN holds h ON h.id = hs.hold_id
        WHERE ${LIVE_HOLD}
       UNION ALL SELECT seat_id, 'booked' FROM bookings
       UNION ALL SELECT seat_id, 'blocked' FROM blocks`,
      now,
    )
    .toArray();
}

/** Every seat in layout order with its status. */
export function seatStatuses(sql: SqlStorage, { now }: { now: number }): { seat_id: Id; status: SeatStatus }[] {
  return sql.exec<{ seat_id: string; status: SeatStatus }>(`${SEAT_STATUS_SQL} ORDER BY s.position`, now).toArray();
}

/**
 * How many seats the layout has, and how many of them are available now. A seat is booked, held
 * or blocked only when it was available, so the three never overlap; counting each is far cheaper
 * than deriving every seat's status.
 */
export function seatCounts(sql: SqlStorage, { now }: { now: number }): { total: number; available: number } {
  return sql
    .exec<{ total: number; available: number }>(
      `SELECT (SELECT COUNT(*) FROM seats) AS total,
              (SELECT COUNT(*) FROM seats)
                - (SELECT COUNT(*) FROM bookings)
                - (SELECT COUNT(*) FROM blocks)
                - (SELECT COUNT(*) FROM held_seats hs JOIN holds h ON h.id = hs.hold_id
                    WHERE ${LIVE_HOLD}) AS available`,
      now,
    )
    .one();
}

// ---- Bookings -----------------------------------------------------------------------------

/**
 * Sells a seat in one statement (the `sales` view's trigger, migration 11): stores the booking and
 * logs the change. A seat sold as `from: "available"` is refused unless it is free (the trigger's
 * check, and the UNIQUE constraint for a booked seat): the statement throws, having changed
 * nothing (see `isRefusedSale`). A seat sold from a hold (`from: "held"`) is checked by the
 * caller, which ends the hold in the same transaction; the trigger checks nothing more.
 */
export function sell(
  sql: SqlStorage,
  sale: {
    id: string;
    seat: Id;
    user: Id | null;
    at: number;
    tokenHash: string;
    hold: string | null;
    from: "available" | "held";
    /** Who sold it, and the admission pass the booking counts against, if any. */
    origin: Origin;
  },
): void {
  sql.exec(
    `INSERT INTO sales (id, seat_id, user_id, at, token_hash, hold_id, pass, from_status, actor, route)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    sale.id,
    sale.seat,
    sale.user,
    sale.at,
    sale.tokenHash,
    sale.hold,
    sale.origin.pass ?? null,
    sale.from,
    sale.origin.actor,
    sale.origin.route,
  );
}

/** Whether `error` is the sale's statement refusing a seat that is not free (see `sell`). */
export function isRefusedSale(error: unknown): boolean {
  const message = error instanceof Error ? error.message : "";
  return message.includes("seat not available") || message.includes("UNIQUE constraint failed: bookings.seat_id");
}

export function bookingById(
  sql: SqlStorage,
  { id }: { id: string },
): { seat_id: string; token_hash: string | null; user_id: string | null } | undefined {
  return sql
    .exec<{
      seat_id: string;
      token_hash: string | null;
      user_id: string | null;
    }>("SELECT seat_id, token_hash, user_id FROM bookings WHERE id = ?", id)
    .toArray()[0];
}

export function bookingOnSeat(sql: SqlStorage, { seat }: { seat: Id }): { id: string } | undefined {
  return sql.exec<{ id: string }>("SELECT id FROM bookings WHERE seat_id = ?", seat).toArray()[0];
}

export function allBookings(sql: SqlStorage): { id: string; seat_id: string }[] {
  return sql.exec<{ id: string; seat_id: string }>("SELECT id, seat_id FROM bookings").toArray();
}

export function deleteBooking(sql: SqlStorage, { id }: { id: string }): void {
  sql.exec("DELETE FROM bookings WHERE id = ?", id);
}

// ---- Holds --------------------------------------------------------------------------------

export function insertHold(
  sql: SqlStorage,
  hold: {
    id: string;
    tokenHash: string;
    user: Id | null;
    at: number;
    expiresAt: number;
    pass: string | null;
    client: string | null;
  },
): void {
  sql.exec(
    `INSERT INTO holds (id, token_hash, user_id, state, created_at, expires_at, pass, client)
     VALUES (?, ?, ?, 'active', ?, ?, ?, ?)`,
    hold.id,
    hold.tokenHash,
    hold.user,
    hold.at,
    hold.expiresAt,
    hold.pass,
    hold.client,
  );
}

export function revokePass(sql: SqlStorage, { ticket, at }: { ticket: string; at: number }): void {
  sql.exec("INSERT INTO revoked_passes (ticket, at) VALUES (?, ?) ON CONFLICT (ticket) DO NOTHING", ticket, at);
}

export function passRevoked(sql: SqlStorage, { ticket }: { ticket: string }): boolean {
  return sql.exec("SELECT 1 FROM revoked_passes WHERE ticket = ?", ticket).toArray().length > 0;
}

/** Seats an admission pass holds (in live holds) or has booked. */
export function seatsUnderPass(sql: SqlStorage, { pass, now }: { pass: string; now: number }): number {
  return sql
    .exec<{ n: number }>(
      `SELECT (SELECT COUNT(*) FROM bookings WHERE pass = ?)
            + (SELECT COUNT(*) FROM held_seats hs JOIN holds h ON h.id = hs.hold_id
                WHERE h.pass = ? AND ${LIVE_HOLD}) AS n`,
      pass,
      pass,
      now,
    )
    .one().n;
}

export function holdSeat(sql: SqlStorage, { seat, hold }: { seat: Id; hold: string }): void {
  sql.exec("INSERT INTO held_seats (seat_id, hold_id) VALUES (?, ?)", seat, hold);
}

export function holdById(sql: SqlStorage, { id }: { id: string }): HoldRow | undefined {
  return sql.exec<HoldRow>("SELECT * FROM holds WHERE id = ?", id).toArray()[0];
}

/** The hold's seats, in layout order. */
export function heldSeats(sql: SqlStorage, { hold }: { hold: string }): Id[] {
  return sql
    .exec<{ seat_id: string }>(
      `SELECT hs.seat_id FROM held_seats hs JOIN seats s ON s.seat_id = hs.seat_id
        WHERE hs.hold_id = ? ORDER BY s.position`,
      hold,
    )
    .toArray()
    .map((row) => row.seat_id);
}

export function holdOnSeat(sql: SqlStorage, { seat }: { seat: Id }): { hold_id: string } | undefined {
  return sql.exec<{ hold_id: string }>("SELECT hold_id FROM held_seats WHERE seat_id = ?", seat).toArray()[0];
}

/** Ends a hold: its seats are let go and it keeps its final state. */
export function endHold(sql: SqlStorage, { hold, state }: { hold: string; state: HoldRow["state"] }): void {
  sql.exec("DELETE FROM held_seats WHERE hold_id = ?", hold);
  // An ended hold keeps no trace of its client's address.
  sql.exec("UPDATE holds SET state = ?, client = NULL WHERE id = ?", state, hold);
}

/** A client address's live holds (see `Origin.client`): when each expires, and its seats, soonest first. */
export function holdsOfClient(
  sql: SqlStorage,
  { client, now }: { client: string; now: number },
): { expires_at: number; seats: number }[] {
  return sql
    .exec<{ expires_at: number; seats: number }>(
      `SELECT h.expires_at, COUNT(*) AS seats FROM holds h JOIN held_seats hs ON hs.hold_id = h.id
        WHERE h.client = ? AND ${LIVE_HOLD}
        GROUP BY h.id ORDER BY h.expires_at`,
      client,
      now,
    )
    .toArray();
}

export function setHoldExpiry(sql: SqlStorage, { hold, expiresAt }: { hold: string; expiresAt: number }): void {
  sql.exec("UPDATE holds SET expires_at = ? WHERE id = ?", expiresAt, hold);
}

export function activeHolds(sql: SqlStorage): { id: string }[] {
  return sql.exec<{ id: string }>("SELECT id FROM holds WHERE state = 'active'").toArray();
}

/**
 * Ends every live hold whose time has come (inside the caller's transaction): logs each of their
 * seats as available again (hold by hold, in the order they expired, then were made; each hold's
 * seats in plan order), frees the seats and marks the holds expired, in three statements however many there are.
 */
export function expireHoldsDue(sql: SqlStorage, { now, origin }: { now: number; origin: Origin }): void {
  sql.exec(
    // Logged at the moment each hold ran out, when its seats became free, whenever it is swept:
    // every change and read sweeps first, so no entry logged before has a later time.
    `INSERT INTO audit_log (seat_id, old_status, new_status, actor, route, ref, note, at)
     SELECT hs.seat_id, 'held', 'available', ?, ?, h.id, 'hold expired', h.expires_at
       FROM holds h JOIN held_seats hs ON hs.hold_id = h.id JOIN seats s ON s.seat_id = hs.seat_id
      WHERE h.state = 'active' AND h.expires_at <= ?
      ORDER BY h.expires_at, h.rowid, s.position`,
    origin.actor,
    origin.route,
    now,
  );
  sql.exec(
    "DELETE FROM held_seats WHERE hold_id IN (SELECT id FROM holds WHERE state = 'active' AND expires_at <= ?)",
    now,
  );
  // An ended hold keeps no trace of its client's address (as `endHold`).
  sql.exec("UPDATE holds SET state = 'expired', client = NULL WHERE state = 'active' AND expires_at <= ?", now);
}

/** When the next active hold expires, or Infinity when none is active. */
export function earliestHoldExpiry(sql: SqlStorage): number {
  return (
    sql.exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM holds WHERE state = 'active'").one().at ??
    Infinity
  );
}

// ---- Blocks -------------------------------------------------------------------------------

export function insertBlock(sql: SqlStorage, { seat, reason, at }: { seat: Id; reason: string; at: number }): void {
  sql.exec("INSERT INTO blocks (seat_id, reason, blocked_at) VALUES (?, ?, ?)", seat, reason, at);
}

/** Unblocks a seat; false when it was not blocked. */
export function deleteBlock(sql: SqlStorage, { seat }: { seat: Id }): boolean {
  return sql.exec("DELETE FROM blocks WHERE seat_id = ?", seat).rowsWritten > 0;
}

// ---- The audit log ------------------------------------------------------------------------

/** Appends one seat status change to the log (the database refuses to change or delete one). */
export function audit(
  sql: SqlStorage,
  entry: {
    seat: Id;
    from: SeatStatus;
    to: SeatStatus;
    origin: Origin;
    at: number;
    /** The hold or booking the change belongs to. */
    ref?: string | null;
    /** Why, where one was given (a block's reason, expiry). */
    note?: string | null;
  },
): void {
  sql.exec(
    `INSERT INTO audit_log (seat_id, old_status, new_status, actor, route, ref, note, at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    entry.seat,
    entry.from,
    entry.to,
    entry.origin.actor,
    entry.origin.route,
    entry.ref ?? null,
    entry.note ?? null,
    entry.at,
  );
}

export function auditPage(sql: SqlStorage, { after, limit }: { after: number; limit: number }): AuditRow[] {
  return sql.exec<AuditRow>("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", after, limit).toArray();
}

/** The seat changes after `since`, oldest first. */
export function changesSince(
  sql: SqlStorage,
  { since, limit = -1 }: { since: number; limit?: number },
): { seq: number; seat_id: string; new_status: SeatStatus }[] {
  return sql
    .exec<{ seq: number; seat_id: string; new_status: SeatStatus }>(
      "SELECT seq, seat_id, new_status FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
      since,
      limit,
    )
    .toArray();
}

/** The number of the latest seat change: the audit log's last sequence number. */
export function latestChange(sql: SqlStorage): number {
  return sql.exec<{ version: number }>("SELECT COALESCE(MAX(seq), 0) AS version FROM audit_log").one().version;
}

// ---- Live relays --------------------------------------------------------------------------

export function relays(sql: SqlStorage): string[] {
  return sql
    .exec<{ relay: string }>("SELECT relay FROM live_relays")
    .toArray()
    .map((row) => row.relay);
}

export function addRelay(sql: SqlStorage, { relay }: { relay: string }): void {
  sql.exec("INSERT INTO live_relays (relay) VALUES (?) ON CONFLICT (relay) DO NOTHING", relay);
}

export function removeRelay(sql: SqlStorage, { relay }: { relay: string }): void {
  sql.exec("DELETE FROM live_relays WHERE relay = ?", relay);
}

/** The last change every listed relay is known to have been sent (see `LiveFeed.resume`); null when not known. */
export function liveDelivered(sql: SqlStorage): number | null {
  return (
    sql.exec<{ live_delivered: number | null }>("SELECT live_delivered FROM show").toArray()[0]?.live_delivered ?? null
  );
}

export function noteLiveDelivered(sql: SqlStorage, { version }: { version: number | null }): void {
  sql.exec("UPDATE show SET live_delivered = ?", version);
}

// ---- Idempotent answers -------------------------------------------------------------------

export function idempotentAnswer(
  sql: SqlStorage,
  { lookup, after }: { lookup: string; after: number },
): IdempotencyRow | undefined {
  return sql
    .exec<IdempotencyRow>(
      "SELECT fingerprint, sealed FROM idempotent_answers WHERE lookup = ? AND created_at > ?",
      lookup,
      after,
    )
    .toArray()[0];
}

export function storeIdempotentAnswer(
  sql: SqlStorage,
  row: { lookup: string; fingerprint: string; sealed: Uint8Array; at: number },
): void {
  sql.exec(
    `INSERT INTO idempotent_answers (lookup, fingerprint, sealed, created_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (lookup) DO UPDATE SET fingerprint = excluded.fingerprint, sealed = excluded.sealed,
                                        created_at = excluded.created_at`,
    row.lookup,
    row.fingerprint,
    row.sealed,
    row.at,
  );
}

export function forgetIdempotentAnswers(sql: SqlStorage, { before }: { before: number }): void {
  sql.exec("DELETE FROM idempotent_answers WHERE created_at <= ?", before);
}

/** When the oldest stored answer was made, or null when none is stored. */
export function oldestIdempotentAnswer(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT MIN(created_at) AS at FROM idempotent_answers").one().at;
}
