import { DurableObject } from "cloudflare:workers";
import { holdPolicy, IDEMPOTENCY_TTL_MS, type HoldPolicy } from "../config";
import { newRef, publicId, type Id } from "../ids";
import { applyMigrations } from "../storage/migrations";
import {
  MAX_CATCH_UP,
  parseClientMessage,
  PING,
  PONG,
  positionFromQuery,
  type Position,
  type ServerMessage,
} from "./live";
import { SHOW_MIGRATIONS } from "./schema";
import { newToken, tokenMatches } from "./tokens";
import type {
  AuditEntry,
  AuditPage,
  BlockResult,
  BookResult,
  Booking,
  ConfigureResult,
  Failure,
  Hold,
  HoldResult,
  IdempotencyKey,
  NewHoldResult,
  Origin,
  ReleaseResult,
  SeatCounts,
  SeatMap,
  SeatStatus,
  ShowLayout,
  ShowSummary,
} from "./types";

interface ShowRow extends Record<string, SqlStorageValue> {
  show_id: string;
  name: string;
  /** Grows by one with every layout change, so a live client knows its seat list is stale. */
  layout_version: number;
}

interface HoldRow extends Record<string, SqlStorageValue> {
  id: string;
  token_hash: string;
  user_id: string | null;
  state: "active" | "confirmed" | "released" | "expired";
  created_at: number;
  expires_at: number;
}

/** The audit log's origin for changes the object makes by itself. */
const EXPIRY: Origin = { route: "hold expiry", actor: "system" };

/**
 * A seat's status, derived in one place. A hold counts only while it is active and
 * unexpired, so an expired hold is free whether or not the sweep has run yet.
 */
const SEAT_STATUS_SQL = `
  SELECT s.seat_id,
         CASE WHEN EXISTS (SELECT 1 FROM blocks WHERE seat_id = s.seat_id) THEN 'blocked'
              WHEN EXISTS (SELECT 1 FROM bookings WHERE seat_id = s.seat_id) THEN 'booked'
              WHEN EXISTS (SELECT 1 FROM held_seats hs JOIN holds h ON h.id = hs.hold_id
                            WHERE hs.seat_id = s.seat_id AND h.state = 'active' AND h.expires_at > ?) THEN 'held'
              ELSE 'available' END AS status
    FROM seats s`;

/**
 * One show: its seats, holds, bookings, blocks and audit log, in this object's own
 * SQLite database.
 *
 * The object runs one call at a time, and every method that changes state is
 * synchronous: each check and the write it guards happen with no `await` between
 * them, inside one `transactionSync`. UNIQUE constraints on `bookings.seat_id` and
 * `held_seats.seat_id` stand behind that as the last guard. Methods return domain
 * results; the Worker turns them into HTTP.
 */
export class Show extends DurableObject<Env> {
  /** Where the object reads the time. Tests replace it to drive hold expiry. */
  clock: () => number = Date.now;

  private readonly sql: SqlStorage;
  private readonly policy: HoldPolicy;
  /** Live seat-map sockets one show accepts (each change is sent to all of them, inside the object). */
  private readonly maxWatchers: number;
  /** The show's name and id, cached: read on every call, changed only by `configure`. */
  private info: ShowRow | null = null;
  /** The alarm time last asked for, so that unchanged schedules cost no storage write. */
  private alarmAt: number | null | undefined;
  /** The layout's seat ids, cached: read on every call, changed only by `configure`. */
  private seatIds = new Set<string>();
  /** When the next live hold expires (ms); until then no hold can have expired. */
  private nextHoldExpiry = Infinity;
  /** The seat map as JSON at a version, built once per change rather than once per read. */
  private seatMapCache: { version: number; json: string } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.policy = holdPolicy(env);
    this.maxWatchers = Number(env.LIVE_MAX_WATCHERS) > 0 ? Number(env.LIVE_MAX_WATCHERS) : 5000;
    // Answered by the runtime itself, so a client's keep-alive never wakes a hibernating object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    void ctx.blockConcurrencyWhile(async () => {
      applyMigrations(ctx.storage, SHOW_MIGRATIONS);
      this.info = this.readInfo();
      this.loadLayout();
      this.nextHoldExpiry = this.earliestHoldExpiry();
    });
  }

  // ---- Layout ------------------------------------------------------------------------------

  /**
   * Creates the show or changes its name and layout. Seats keep their bookings; a layout
   * that leaves out a booked or held seat is refused as a whole. Blocks on dropped seats go.
   */
  configure(layout: ShowLayout): ConfigureResult {
    const now = this.clock();
    const wanted = new Set(layout.seatIds);
    const inUse = this.statuses(now)
      .filter((seat) => !wanted.has(seat.seat_id) && (seat.status === "booked" || seat.status === "held"))
      .map((seat) => publicId(seat.seat_id));
    if (inUse.length > 0) return { ok: false, reason: "seats_in_use", seat_ids: inUse };

    const created = this.info === null;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        `INSERT INTO show (singleton, show_id, name, created_at, updated_at) VALUES (1, ?, ?, ?, ?)
         ON CONFLICT (singleton) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at,
                                               layout_version = layout_version + 1`,
        layout.showId,
        layout.name,
        now,
        now,
      );
      for (const { seat_id } of this.sql.exec<{ seat_id: string }>("SELECT seat_id FROM seats").toArray()) {
        if (wanted.has(seat_id)) continue;
        // Only expired holds can still point at a dropped seat; they no longer hold it.
        this.sql.exec("DELETE FROM held_seats WHERE seat_id = ?", seat_id);
        this.sql.exec("DELETE FROM blocks WHERE seat_id = ?", seat_id);
        this.sql.exec("DELETE FROM seats WHERE seat_id = ?", seat_id);
      }
      layout.seatIds.forEach((seatId, position) => {
        this.sql.exec(
          `INSERT INTO seats (seat_id, position) VALUES (?, ?)
           ON CONFLICT (seat_id) DO UPDATE SET position = excluded.position`,
          seatId,
          position,
        );
      });
    });
    this.info = this.readInfo();
    this.loadLayout();
    this.broadcast(this.snapshot());
    return { ok: true, created, show: this.summary()! };
  }

  // ---- Bookings ----------------------------------------------------------------------------

  /** Books every seat named, or none. No `await` may ever stand between the checks and the inserts. */
  book(seatIds: Id[], userId: Id | null, origin: Origin, idempotency: IdempotencyKey | null): BookResult {
    return this.change(idempotency, (now): BookResult => {
      const refused = this.refuseUnlessAvailable(seatIds, now);
      if (refused) return refused;
      const bookings = this.ctx.storage.transactionSync(() =>
        seatIds.map((seatId) => this.insertBooking(seatId, userId, null, "available", origin, now)),
      );
      return { ok: true, bookings };
    });
  }

  /**
   * Cancels a booking and frees its seat. The booking's own token cancels it; so does an
   * admin (`asAdmin`, checked by the Worker against ADMIN_TOKEN).
   */
  cancelBooking(bookingId: string, token: string | null, asAdmin: boolean, origin: Origin): ReleaseResult {
    return this.change(null, (now): ReleaseResult => {
      const booking = this.sql
        .exec<{ seat_id: string; token_hash: string | null }>(
          "SELECT seat_id, token_hash FROM bookings WHERE id = ?",
          bookingId,
        )
        .toArray()[0];
      if (booking === undefined) return { ok: false, reason: "booking_not_found" };
      if (!asAdmin && (token === null || !tokenMatches(token, booking.token_hash))) {
        return { ok: false, reason: "wrong_token" };
      }
      this.ctx.storage.transactionSync(() => {
        this.sql.exec("DELETE FROM bookings WHERE id = ?", bookingId);
        this.audit(booking.seat_id, "booked", "available", origin, now, bookingId);
      });
      return { ok: true, released: 1 };
    });
  }

  // ---- Holds -------------------------------------------------------------------------------

  /** Holds every seat named for `ttlSeconds`, or none. */
  hold(
    seatIds: Id[],
    userId: Id | null,
    ttlSeconds: number,
    origin: Origin,
    idempotency: IdempotencyKey | null,
  ): NewHoldResult {
    return this.change(idempotency, (now): NewHoldResult => {
      const refused = this.refuseUnlessAvailable(seatIds, now);
      if (refused) return refused;
      const holdId = newRef(this.info!.show_id);
      const { token, hash } = newToken("ht");
      const expiresAt = now + ttlSeconds * 1000;
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          `INSERT INTO holds (id, token_hash, user_id, state, created_at, expires_at)
           VALUES (?, ?, ?, 'active', ?, ?)`,
          holdId,
          hash,
          userId,
          now,
          expiresAt,
        );
        for (const seatId of seatIds) {
          this.sql.exec("INSERT INTO held_seats (seat_id, hold_id) VALUES (?, ?)", seatId, holdId);
          this.audit(seatId, "available", "held", origin, now, holdId);
        }
      });
      this.scheduleAlarm();
      return { ok: true, hold: { ...this.describeHold(holdId, expiresAt, seatIds), hold_token: token } };
    });
  }

  /** Turns a live hold into bookings, one per seat. A hold that has expired books nothing. */
  confirmHold(holdId: string, token: string, origin: Origin, idempotency: IdempotencyKey | null): BookResult {
    return this.change(
      idempotency,
      (now): BookResult => {
        const hold = this.liveHold(holdId);
        if (!hold.ok) return hold;
        const seatIds = this.heldSeats(holdId);
        const bookings = this.ctx.storage.transactionSync(() => {
          this.sql.exec("DELETE FROM held_seats WHERE hold_id = ?", holdId);
          this.sql.exec("UPDATE holds SET state = 'confirmed' WHERE id = ?", holdId);
          return seatIds.map((seatId) => this.insertBooking(seatId, hold.row.user_id, holdId, "held", origin, now));
        });
        this.scheduleAlarm();
        return { ok: true, bookings };
      },
      () => this.holdAccess(holdId, token),
    );
  }

  /** Gives a live hold's seats back. */
  releaseHold(holdId: string, token: string, origin: Origin): ReleaseResult {
    return this.change(
      null,
      (now): ReleaseResult => {
        const hold = this.liveHold(holdId);
        if (!hold.ok) return hold;
        const released = this.endHold(holdId, "released", origin, now);
        this.scheduleAlarm();
        return { ok: true, released };
      },
      () => this.holdAccess(holdId, token),
    );
  }

  /**
   * Pushes a live hold's expiry to `ttlSeconds` from now, but never past the policy's
   * maximum lifetime counted from when the hold was made, and never earlier than it was.
   */
  extendHold(holdId: string, token: string, ttlSeconds: number, idempotency: IdempotencyKey | null): HoldResult {
    return this.change(
      idempotency,
      (now): HoldResult => {
        const hold = this.liveHold(holdId);
        if (!hold.ok) return hold;
        const latest = hold.row.created_at + this.policy.maxLifetime * 1000;
        const expiresAt = Math.max(hold.row.expires_at, Math.min(now + ttlSeconds * 1000, latest));
        this.sql.exec("UPDATE holds SET expires_at = ? WHERE id = ?", expiresAt, holdId);
        this.scheduleAlarm();
        return { ok: true, hold: this.describeHold(holdId, expiresAt, this.heldSeats(holdId)) };
      },
      () => this.holdAccess(holdId, token),
    );
  }

  // ---- Admin -------------------------------------------------------------------------------

  /** Blocks every seat named (all must be available), or none. */
  block(seatIds: Id[], reason: string, origin: Origin, idempotency: IdempotencyKey | null): BlockResult {
    return this.change(idempotency, (now): BlockResult => {
      const refused = this.refuseUnlessAvailable(seatIds, now);
      if (refused) return refused;
      this.ctx.storage.transactionSync(() => {
        for (const seatId of seatIds) {
          this.sql.exec("INSERT INTO blocks (seat_id, reason, blocked_at) VALUES (?, ?, ?)", seatId, reason, now);
          this.audit(seatId, "available", "blocked", origin, now, null, reason);
        }
      });
      return { ok: true, seat_ids: seatIds.map(publicId) };
    });
  }

  /** Unblocks the seats named; seats that were not blocked are left as they are. */
  unblock(seatIds: Id[], origin: Origin, idempotency: IdempotencyKey | null): BlockResult {
    return this.change(idempotency, (now): BlockResult => {
      const unknown = this.unknownSeats(seatIds);
      if (unknown) return unknown;
      const unblocked = this.ctx.storage.transactionSync(() =>
        seatIds.filter((seatId) => {
          if (this.sql.exec("DELETE FROM blocks WHERE seat_id = ?", seatId).rowsWritten === 0) return false;
          this.audit(seatId, "blocked", "available", origin, now);
          return true;
        }),
      );
      return { ok: true, seat_ids: unblocked.map(publicId) };
    });
  }

  /**
   * Frees one seat (the old system's "reset a seat"): cancels its booking, or releases the
   * hold that has it (the whole hold). Freeing a free seat is not an error.
   */
  resetSeat(seatId: Id, origin: Origin): ReleaseResult {
    return this.change(null, (now): ReleaseResult => {
      const unknown = this.unknownSeats([seatId]);
      if (unknown) return unknown;
      const booking = this.sql.exec<{ id: string }>("SELECT id FROM bookings WHERE seat_id = ?", seatId).toArray()[0];
      if (booking !== undefined) {
        this.ctx.storage.transactionSync(() => {
          this.sql.exec("DELETE FROM bookings WHERE id = ?", booking.id);
          this.audit(seatId, "booked", "available", origin, now, booking.id);
        });
        return { ok: true, released: 1 };
      }
      // Expired holds were swept by `change`, so any hold left on the seat is live.
      const hold = this.sql
        .exec<{ hold_id: string }>("SELECT hold_id FROM held_seats WHERE seat_id = ?", seatId)
        .toArray()[0];
      if (hold === undefined) return { ok: true, released: 0 };
      const released = this.endHold(hold.hold_id, "released", origin, now);
      this.scheduleAlarm();
      return { ok: true, released };
    });
  }

  /** Frees every booking and every live hold of the show. Blocks stay. */
  resetAll(origin: Origin): ReleaseResult {
    return this.change(null, (now): ReleaseResult => {
      const released = this.ctx.storage.transactionSync(() => {
        const bookings = this.sql.exec<{ id: string; seat_id: string }>("SELECT id, seat_id FROM bookings").toArray();
        for (const booking of bookings) this.audit(booking.seat_id, "booked", "available", origin, now, booking.id);
        this.sql.exec("DELETE FROM bookings");
        const holds = this.sql.exec<{ id: string }>("SELECT id FROM holds WHERE state = 'active'").toArray();
        return holds.reduce((count, hold) => count + this.endHold(hold.id, "released", origin, now), bookings.length);
      });
      this.scheduleAlarm();
      return { ok: true, released };
    });
  }

  /** One page of the audit log, oldest first, after sequence number `after`. Null when the show does not exist. */
  auditLog(after: number, limit: number): AuditPage | null {
    if (this.info === null) return null;
    const rows = this.sql
      .exec<Omit<AuditEntry, "seat_id" | "at"> & { seat_id: string; at: number }>(
        "SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
        after,
        limit + 1,
      )
      .toArray();
    const entries: AuditEntry[] = rows
      .slice(0, limit)
      .map((row) => ({ ...row, seat_id: publicId(row.seat_id), at: new Date(row.at).toISOString() }));
    return { entries, next_after: rows.length > limit ? entries.at(-1)!.seq : null };
  }

  // ---- Reads -------------------------------------------------------------------------------

  /** Every seat in layout order with its status. Null when the show does not exist. */
  seatMap(): SeatMap | null {
    const show = this.info;
    if (show === null) return null;
    const seats = this.statuses(this.clock()).map((seat) => ({ seat_id: publicId(seat.seat_id), status: seat.status }));
    const counts: SeatCounts = { total: seats.length, available: 0, held: 0, booked: 0, blocked: 0 };
    for (const seat of seats) counts[seat.status]++;
    return { show_id: publicId(show.show_id), name: show.name, seats, counts };
  }

  // ---- The live seat map -------------------------------------------------------------------

  /**
   * Accepts a live seat-map WebSocket (the Worker has checked the upgrade and the query) and
   * greets it with a snapshot, or with just the changes a reconnecting client missed.
   * The object may hibernate while its sockets are idle.
   */
  override async fetch(request: Request): Promise<Response> {
    const position = positionFromQuery(new URL(request.url).searchParams);
    if (this.info === null) return Response.json({ error: "Show not found" }, { status: 404 });
    if (this.ctx.getWebSockets().length >= this.maxWatchers) {
      return Response.json(
        { error: "This show has as many live watchers as it can take; retry shortly" },
        {
          status: 503,
          headers: { "retry-after": "5" },
        },
      );
    }
    if (position !== null && "error" in position) return Response.json({ error: position.error }, { status: 400 });
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    server.send(JSON.stringify(this.catchUp(position)));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A client asks to resync; anything else gets an error frame, and never disturbs the object. */
  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const parsed = parseClientMessage(message);
    const reply: ServerMessage = "error" in parsed ? { type: "error", error: parsed.error } : this.catchUp(parsed);
    socket.send(JSON.stringify(reply));
  }

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    // 1005 and 1006 mean "no code"; they may not be sent back.
    socket.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
  }

  /**
   * The seat map as JSON text, for the public route. Built once and reused until a seat
   * changes or a hold reaches its expiry, so a crowd reading the map costs the object (and
   * the bookings queued behind it) almost nothing.
   */
  seatMapJson(): string | null {
    if (this.info === null) return null;
    const version = this.currentVersion();
    if (this.seatMapCache?.version !== version || this.clock() >= this.nextHoldExpiry) {
      this.seatMapCache = { version, json: JSON.stringify(this.seatMap()) };
    }
    return this.seatMapCache.json;
  }

  /** Name, capacity and available seats, from the seat map's counts; null when the show does not exist. */
  summary(): ShowSummary | null {
    const map = this.seatMap();
    return map && { show_id: map.show_id, name: map.name, capacity: map.counts.total, available: map.counts.available };
  }

  /** Expires holds whose time has come and forgets day-old idempotency keys. Running it twice changes nothing more. */
  override async alarm(): Promise<void> {
    this.alarmAt = undefined;
    this.publishingChanges(() => {
      const now = this.clock();
      this.expireHolds(now);
      this.sql.exec("DELETE FROM idempotency WHERE created_at <= ?", now - IDEMPOTENCY_TTL_MS);
      this.scheduleAlarm();
    });
  }

  // ---- Internals ---------------------------------------------------------------------------

  /**
   * Runs one state change: refuses unknown shows, first expires holds whose time has come
   * (so they count as free), then checks the caller may act (`authorize`, before any answer
   * is replayed, so a stored answer never reaches someone without the token), then replays
   * or records the answer for an Idempotency-Key. Live clients hear of every committed change.
   */
  private change<R extends { ok: boolean }>(
    idempotency: IdempotencyKey | null,
    run: (now: number) => R,
    authorize: () => Failure | null = () => null,
  ): R | Failure {
    if (this.info === null) return { ok: false, reason: "unknown_show" };
    return this.publishingChanges(() => {
      const now = this.clock();
      this.expireHolds(now);
      return authorize() ?? this.idempotent(idempotency, now, run);
    });
  }

  private idempotent<R extends { ok: boolean }>(
    idempotency: IdempotencyKey | null,
    now: number,
    run: (now: number) => R,
  ): R | Failure {
    if (idempotency === null) return run(now);
    const earlier = this.sql
      .exec<{ fingerprint: string; result: string }>(
        "SELECT fingerprint, result FROM idempotency WHERE key = ? AND created_at > ?",
        idempotency.key,
        now - IDEMPOTENCY_TTL_MS,
      )
      .toArray()[0];
    if (earlier !== undefined) {
      return earlier.fingerprint === idempotency.fingerprint
        ? (JSON.parse(earlier.result) as R)
        : { ok: false, reason: "idempotency_mismatch" };
    }
    const result = run(now);
    this.sql.exec(
      `INSERT INTO idempotency (key, fingerprint, result, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, result = excluded.result,
                                       created_at = excluded.created_at`,
      idempotency.key,
      idempotency.fingerprint,
      JSON.stringify(result),
      now,
    );
    this.scheduleAlarm();
    return result;
  }

  /**
   * Runs `work`, then sends live clients one event for each seat change it committed, read
   * back from the audit log: a change that was rolled back is not there, so it is never sent,
   * and one that committed before a later failure still is.
   */
  private publishingChanges<T>(work: () => T): T {
    const watched = this.ctx.getWebSockets().length > 0;
    const before = watched ? this.currentVersion() : 0;
    try {
      return work();
    } finally {
      if (watched) {
        const changes = this.sql
          .exec<{ seq: number; seat_id: string; new_status: SeatStatus }>(
            "SELECT seq, seat_id, new_status FROM audit_log WHERE seq > ? ORDER BY seq",
            before,
          )
          .toArray();
        for (const row of changes) {
          this.broadcast({ type: "seat", seat_id: publicId(row.seat_id), status: row.new_status, version: row.seq });
        }
      }
    }
  }

  /** Null when every seat exists and is available; otherwise the failure naming the others. */
  private refuseUnlessAvailable(seatIds: Id[], now: number): Failure | null {
    const unknown = this.unknownSeats(seatIds);
    if (unknown) return unknown;
    const unavailable = seatIds.filter((seatId) => this.statusOf(seatId, now) !== "available");
    return unavailable.length > 0 ? { ok: false, reason: "unavailable", seat_ids: unavailable.map(publicId) } : null;
  }

  private unknownSeats(seatIds: Id[]): Failure | null {
    const unknown = seatIds.filter((seatId) => !this.seatIds.has(seatId));
    return unknown.length > 0 ? { ok: false, reason: "unknown_seats", seat_ids: unknown.map(publicId) } : null;
  }

  private statusOf(seatId: Id, now: number): SeatStatus {
    return this.sql.exec<{ status: SeatStatus }>(`${SEAT_STATUS_SQL} WHERE s.seat_id = ?`, now, seatId).one().status;
  }

  private statuses(now: number): { seat_id: string; status: SeatStatus }[] {
    return this.sql
      .exec<{ seat_id: string; status: SeatStatus }>(`${SEAT_STATUS_SQL} ORDER BY s.position`, now)
      .toArray();
  }

  private insertBooking(
    seatId: Id,
    userId: Id | null,
    holdId: string | null,
    from: SeatStatus,
    origin: Origin,
    now: number,
  ): Booking {
    const id = newRef(this.info!.show_id);
    const { token, hash } = newToken("bt");
    this.sql.exec(
      "INSERT INTO bookings (id, seat_id, user_id, booked_at, token_hash, hold_id) VALUES (?, ?, ?, ?, ?, ?)",
      id,
      seatId,
      userId,
      now,
      hash,
      holdId,
    );
    this.audit(seatId, from, "booked", origin, now, id);
    return {
      id,
      show_id: publicId(this.info!.show_id),
      seat_id: publicId(seatId),
      user_id: userId === null ? null : publicId(userId),
      booked_at: new Date(now).toISOString(),
      booking_token: token,
    };
  }

  /** Null when the hold exists and the token is its own. */
  private holdAccess(holdId: string, token: string): Failure | null {
    const row = this.sql.exec<{ token_hash: string }>("SELECT token_hash FROM holds WHERE id = ?", holdId).toArray()[0];
    if (row === undefined) return { ok: false, reason: "hold_not_found" };
    return tokenMatches(token, row.token_hash) ? null : { ok: false, reason: "wrong_token" };
  }

  /** The hold, if it is still live (`holdAccess` has checked it exists). */
  private liveHold(holdId: string): { ok: true; row: HoldRow } | Failure {
    const row = this.sql.exec<HoldRow>("SELECT * FROM holds WHERE id = ?", holdId).one();
    switch (row.state) {
      case "active":
        return { ok: true, row };
      case "expired":
        return { ok: false, reason: "hold_expired" };
      case "released":
        return { ok: false, reason: "hold_released" };
      case "confirmed":
        return { ok: false, reason: "hold_confirmed" };
    }
  }

  private heldSeats(holdId: string): Id[] {
    return this.sql
      .exec<{ seat_id: string }>(
        `SELECT hs.seat_id FROM held_seats hs JOIN seats s ON s.seat_id = hs.seat_id
          WHERE hs.hold_id = ? ORDER BY s.position`,
        holdId,
      )
      .toArray()
      .map((row) => row.seat_id);
  }

  private describeHold(holdId: string, expiresAt: number, seatIds: Id[]): Hold {
    return { hold_id: holdId, seat_ids: seatIds.map(publicId), expires_at: new Date(expiresAt).toISOString() };
  }

  /** Ends a live hold, frees its seats and logs each. Returns how many seats it freed. */
  private endHold(holdId: string, state: "released" | "expired", origin: Origin, now: number): number {
    const seatIds = this.heldSeats(holdId);
    this.ctx.storage.transactionSync(() => {
      for (const seatId of seatIds) {
        this.audit(seatId, "held", "available", origin, now, holdId, state === "expired" ? "hold expired" : null);
      }
      this.sql.exec("DELETE FROM held_seats WHERE hold_id = ?", holdId);
      this.sql.exec("UPDATE holds SET state = ? WHERE id = ?", state, holdId);
    });
    return seatIds.length;
  }

  private expireHolds(now: number): void {
    if (now < this.nextHoldExpiry) return;
    const due = this.sql
      .exec<{ id: string }>("SELECT id FROM holds WHERE state = 'active' AND expires_at <= ?", now)
      .toArray();
    for (const hold of due) this.endHold(hold.id, "expired", EXPIRY, now);
    this.scheduleAlarm();
  }

  private earliestHoldExpiry(): number {
    const { at } = this.sql
      .exec<{ at: number | null }>("SELECT MIN(expires_at) AS at FROM holds WHERE state = 'active'")
      .one();
    return at ?? Infinity;
  }

  private loadLayout(): void {
    this.seatIds = new Set(
      this.sql
        .exec<{ seat_id: string }>("SELECT seat_id FROM seats")
        .toArray()
        .map((r) => r.seat_id),
    );
    this.seatMapCache = null;
  }

  private audit(
    seatId: Id,
    from: SeatStatus,
    to: SeatStatus,
    origin: Origin,
    now: number,
    ref: string | null = null,
    note: string | null = null,
  ): void {
    this.sql.exec(
      `INSERT INTO audit_log (seat_id, old_status, new_status, actor, route, ref, note, at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      seatId,
      from,
      to,
      origin.actor,
      origin.route,
      ref,
      note,
      now,
    );
  }

  private broadcast(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const socket of this.ctx.getWebSockets()) {
      try {
        socket.send(text);
      } catch {
        // The socket is closing; its close handler cleans up.
      }
    }
  }

  /** The changes since `position`, or a snapshot when there is no position, it is stale, or too far back. */
  private catchUp(position: Position | null): ServerMessage {
    const version = this.currentVersion();
    const layout = this.info!.layout_version;
    if (
      position === null ||
      position.layout !== layout ||
      position.since > version ||
      version - position.since > MAX_CATCH_UP
    ) {
      return this.snapshot();
    }
    const changes = this.sql
      .exec<{ seq: number; seat_id: string; new_status: SeatStatus }>(
        "SELECT seq, seat_id, new_status FROM audit_log WHERE seq > ? ORDER BY seq",
        position.since,
      )
      .toArray()
      .map((row) => ({ seat_id: publicId(row.seat_id), status: row.new_status, version: row.seq }));
    return { type: "changes", version, layout, changes };
  }

  private snapshot(): ServerMessage {
    return { type: "snapshot", version: this.currentVersion(), layout: this.info!.layout_version, ...this.seatMap()! };
  }

  /** The number of the latest seat change: the audit log's last sequence number. */
  private currentVersion(): number {
    return this.sql.exec<{ version: number }>("SELECT COALESCE(MAX(seq), 0) AS version FROM audit_log").one().version;
  }

  private readInfo(): ShowRow | null {
    return this.sql.exec<ShowRow>("SELECT show_id, name, layout_version FROM show").toArray()[0] ?? null;
  }

  /**
   * Keeps one alarm set for the next hold expiry or idempotency-key purge, whichever comes
   * first. Every change to a hold calls it, so it also refreshes `nextHoldExpiry`.
   */
  private scheduleAlarm(): void {
    this.nextHoldExpiry = this.earliestHoldExpiry();
    const { purge } = this.sql
      .exec<{ purge: number | null }>("SELECT MIN(created_at) + ? AS purge FROM idempotency", IDEMPOTENCY_TTL_MS)
      .one();
    const soonest = Math.min(this.nextHoldExpiry, purge ?? Infinity);
    const next = soonest === Infinity ? null : soonest;
    if (next === this.alarmAt) return;
    this.alarmAt = next;
    const scheduled = next === null ? this.ctx.storage.deleteAlarm() : this.ctx.storage.setAlarm(next);
    scheduled.catch((error: unknown) => {
      // Forget what was asked for, so that the next change asks again.
      this.alarmAt = undefined;
      console.error(JSON.stringify({ message: "alarm scheduling failed", error: String(error) }));
    });
  }
}
