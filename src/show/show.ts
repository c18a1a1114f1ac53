import { DurableObject } from "cloudflare:workers";
import { heldOrdersPerAddress, holdPolicy, storageHighWaterBytes, type HoldPolicy } from "../config";
import { publicId, type Id } from "../ids";
import { applyMigrations, hasBeenMigrated } from "../storage/migrations";
import { AlarmSchedule } from "./alarm";
import { asOwner, auditPage } from "./audit";
import { blockSeats, unblockSeats } from "./blocks";
import { cancelAllBookings, cancelRecordedBooking, recordBooking, sellFreeSeats } from "./bookings";
import { LiveFeed, type SubscribeResult } from "./feed";
import { describeHold, HoldLedger } from "./holds";
import { IdempotentAnswers } from "./idempotency";
import * as q from "./queries";
import { SHOW_MIGRATIONS } from "./schema";
import { Seating } from "./seating";
import { StorageGuard } from "./storage-guard";
import { OrderCounts } from "./orders";
import { SummaryPublisher } from "./summary";
import { tokenMatches } from "./tokens";
import {
  UNKNOWN_SHOW,
  type AuditResult,
  type BlockResult,
  type BookResult,
  type ConfigureResult,
  type Failure,
  type HoldResult,
  type IdempotencyKey,
  type NewHoldResult,
  type Origin,
  type PlanResult,
  type ReleaseResult,
  type SeatFilter,
  type SeatFrameResult,
  type SeatMapResult,
  type SeatSelection,
  type ShowLayout,
  type ShowStats,
  type SummaryPushResult,
} from "./types";

/**
 * One show: its seats, holds, bookings, blocks and audit log, in its own SQLite database. The
 * object keeps its RPC surface and the orchestration of each change, and holds a helper for
 * each subsystem: `Seating` (plan, seat index and seat map), `HoldLedger` (hold lifetimes),
 * `IdempotentAnswers` (sealed answers to Idempotency-Keys), `LiveFeed` (batches of changes for the
 * relays that hold the live seat map's sockets) and `SummaryPublisher`. All SQL is in `queries.ts`.
 *
 * The object runs one call at a time, and every method that changes state is synchronous: each
 * check and the write it guards happen with no `await` between them, inside one
 * `transactionSync`, or in one statement (a sale: see `sellFreeSeats`). UNIQUE constraints on
 * `bookings.seat_id` and `held_seats.seat_id` stand behind that as the last guard. Methods return
 * domain results; the Worker turns them into HTTP.
 */
export class Show extends DurableObject<Env> {
  /** Where the object reads the time. Tests replace it to drive hold expiry. */
  clock: () => number = Date.now;

  private readonly sql = this.ctx.storage.sql;
  private readonly policy: HoldPolicy;
  private readonly seating: Seating;
  private readonly holds: HoldLedger;
  readonly storageGuard = new StorageGuard(this.ctx.storage, storageHighWaterBytes(this.env), () => this.seating.info);
  private readonly answers = new IdempotentAnswers(this.ctx.storage.sql);
  private readonly feed: LiveFeed;
  private readonly alarm_: AlarmSchedule;
  private readonly summaries: SummaryPublisher;
  private readonly orders = new OrderCounts();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.policy = holdPolicy(env);
    this.seating = new Seating(ctx.storage, () => this.clock());
    this.holds = new HoldLedger(ctx.storage, heldOrdersPerAddress(env) ?? Infinity);
    this.alarm_ = new AlarmSchedule(ctx.storage);
    this.summaries = new SummaryPublisher((summary) => env.CATALOG.getByName("catalog").register(summary));
    this.feed = new LiveFeed(this.sql, this.seating, env.RELAY);
    // A show that was never created has no database, and asking for it must not make one: only
    // `configure` creates the schema. (Reading sqlite_master stores nothing.)
    void ctx.blockConcurrencyWhile(async () => {
      if (hasBeenMigrated(ctx.storage)) this.migrate();
    });
  }

  private migrate(): void {
    applyMigrations(this.ctx.storage, SHOW_MIGRATIONS);
    this.seating.load();
    this.feed.resume();
    this.summaries.changed(this.clock()); // a push due was noted in memory only: one is due now
    this.scheduleAlarm(); // for it, and for holds' expiry and old keys' purge, read back from storage
  }

  // ---- Layout ------------------------------------------------------------------------------

  /** Creates the show or changes its name, layout and order limit (see `Seating.apply`). */
  configure(layout: ShowLayout, origin: Origin): ConfigureResult {
    if (this.seating.info === null) this.migrate();
    const created = this.seating.info === null;
    const now = this.clock();
    if (!created) this.sweptVersion(now); // Holds due by `now` end, logged, before a layout can drop their seats.
    const applied = this.seating.apply(layout, origin, now);
    if ("ok" in applied) return applied;
    if (applied.changed) this.feed.layoutChanged();
    // The Worker registers the show as it answers; the alarm's push registers it too, should that fail.
    if (this.summaries.changed(now)) this.scheduleAlarm();
    const push = this.seating.summary();
    const { capacity, available, categories } = push;
    const show = { show_id: publicId(push.showId), name: push.name, capacity, available, categories };
    return { ok: true, created, show, push };
  }

  // ---- Bookings ----------------------------------------------------------------------------

  /** Books every seat named, or none (with the change number, when `versioned`). No `await` between checks and inserts. */
  book(seatIds: Id[], userId: Id | null, origin: Origin, key: IdempotencyKey | null, versioned = false): BookResult {
    return this.change(key, (now): BookResult => {
      this.orders.count(origin);
      const refused = this.seating.refuseSizeOrUnknown(seatIds, now, origin.pass);
      if (refused) return refused;
      const sale = { showId: this.seating.info!.show_id, user: userId, hold: null, origin, at: now };
      const sold = sellFreeSeats(this.ctx.storage, seatIds, sale, this.seating);
      if ("ok" in sold) return sold;
      return { ok: true, bookings: sold, version: versioned ? q.latestChange(this.sql) : undefined };
    });
  }

  /** Cancels a booking and frees its seat: its own token may, and so may an admin (`asAdmin`, checked by the Worker). */
  cancelBooking(bookingId: string, token: string | null, asAdmin: boolean, origin: Origin): ReleaseResult {
    return this.change(null, (now): ReleaseResult => {
      const booking = q.bookingById(this.sql, { id: bookingId });
      if (booking === undefined) return { ok: false, reason: "booking_not_found" };
      if (!asAdmin && (token === null || !tokenMatches(token, booking.token_hash))) {
        return { ok: false, reason: "wrong_token" };
      }
      const full = asAdmin ? null : this.storageGuard.refuseChurn(now);
      if (full) return full;
      const cancel = { id: bookingId, seat: booking.seat_id, origin: asOwner(origin, booking.user_id), at: now };
      this.ctx.storage.transactionSync(() => cancelRecordedBooking(this.sql, cancel));
      return { ok: true, released: 1 };
    });
  }

  // ---- Holds -------------------------------------------------------------------------------

  /** Holds the seats named, or the best block of adjacent seats (see `Seating.choose`), for `ttlSeconds`; all or none. */
  hold(
    selection: SeatSelection,
    userId: Id | null,
    ttlSeconds: number,
    origin: Origin,
    idempotency: IdempotencyKey | null,
  ): NewHoldResult {
    return this.change(idempotency, (now): NewHoldResult => {
      this.orders.count(origin);
      const seatIds = this.seating.choose(selection, now, origin.pass);
      if ("ok" in seatIds) return seatIds;
      const { max_seats_per_order: perOrder } = this.seating.info!;
      const refusal =
        this.holds.refuseOverAddressLimit(origin, seatIds, perOrder, now) ?? this.storageGuard.refuseChurn(now);
      if (refusal) return refusal;
      const expiresAt = now + ttlSeconds * 1000;
      const showId = this.seating.info!.show_id;
      const { hold, token } = this.holds.create({ showId, seats: seatIds, user: userId, origin, at: now, expiresAt });
      this.scheduleAlarm();
      const [seats, version] = [this.seating.describe(seatIds), q.latestChange(this.sql)];
      return { ok: true, hold: { ...describeHold(hold, expiresAt, seatIds), hold_token: token, seats }, version };
    });
  }

  /** Turns a live hold into bookings, one per seat. A hold that has expired books nothing. */
  confirmHold(holdId: string, token: string, origin: Origin, idempotency: IdempotencyKey | null): BookResult {
    return this.change(
      idempotency,
      (now): BookResult => {
        const live = this.holds.live(holdId);
        if (!live.ok) return live;
        const seats = q.heldSeats(this.sql, { hold: holdId });
        const bookings = this.ctx.storage.transactionSync(() => {
          q.endHold(this.sql, { hold: holdId, state: "confirmed" });
          // The bookings count against the pass the hold was made with, as its seats did.
          const { user_id: user, pass } = live.row;
          const by = { ...asOwner(origin, user), pass };
          const sale = { showId: this.seating.info!.show_id, user, hold: holdId, from: "held" as const, at: now };
          return seats.map((seat) => recordBooking(this.sql, { ...sale, origin: by, seat }));
        });
        this.scheduleAlarm();
        return { ok: true, bookings, version: q.latestChange(this.sql) };
      },
      () => this.holds.access(holdId, token),
    );
  }

  /** Gives a live hold's seats back. */
  releaseHold(holdId: string, token: string, origin: Origin): ReleaseResult {
    return this.change(
      null,
      (now): ReleaseResult => {
        const live = this.holds.live(holdId);
        if (!live.ok) return live;
        const released = this.holds.release(holdId, asOwner(origin, live.row.user_id), now);
        this.scheduleAlarm();
        return { ok: true, released };
      },
      () => this.holds.access(holdId, token),
    );
  }

  /** Lengthens a live hold, up to the policy's maximum lifetime (see `HoldLedger.extend`). */
  extendHold(holdId: string, token: string, ttlSeconds: number, idempotency: IdempotencyKey | null): HoldResult {
    return this.change(
      idempotency,
      (now): HoldResult => {
        const live = this.holds.live(holdId);
        if (!live.ok) return live;
        // Its answer under a new key is kept a day: churn like a new hold, refused past the mark.
        const full = idempotency === null ? null : this.storageGuard.refuseChurn(now);
        if (full) return full;
        const expiresAt = this.holds.extend(live.row, ttlSeconds, this.policy.maxLifetime, now);
        this.scheduleAlarm();
        return { ok: true, hold: describeHold(holdId, expiresAt, q.heldSeats(this.sql, { hold: holdId })) };
      },
      () => this.holds.access(holdId, token),
    );
  }

  // ---- Admin -------------------------------------------------------------------------------

  /** Blocks every seat named (all must be available), or none. */
  block(seatIds: Id[], reason: string, origin: Origin, idempotency: IdempotencyKey | null): BlockResult {
    return this.change(idempotency, (now): BlockResult => {
      const refused = this.seating.refuseUnlessAvailable(seatIds, now);
      if (refused) return refused;
      this.ctx.storage.transactionSync(() => blockSeats(this.sql, { seats: seatIds, reason, origin, at: now }));
      return { ok: true, seat_ids: seatIds.map(publicId) };
    });
  }

  /** Unblocks the seats named; seats that were not blocked are left as they are. */
  unblock(seatIds: Id[], origin: Origin, idempotency: IdempotencyKey | null): BlockResult {
    return this.change(idempotency, (now): BlockResult => {
      const unknown = this.seating.unknownSeats(seatIds);
      if (unknown) return unknown;
      const unblocked = this.ctx.storage.transactionSync(() =>
        unblockSeats(this.sql, { seats: seatIds, origin, at: now }),
      );
      return { ok: true, seat_ids: unblocked.map(publicId) };
    });
  }

  /** Frees one seat (the old "reset a seat"): cancels its booking, or releases the whole hold that has it; a free seat is fine. */
  resetSeat(seatId: Id, origin: Origin): ReleaseResult {
    return this.change(null, (now): ReleaseResult => {
      const unknown = this.seating.unknownSeats([seatId]);
      if (unknown) return unknown;
      const booking = q.bookingOnSeat(this.sql, { seat: seatId });
      if (booking !== undefined) {
        const cancel = { id: booking.id, seat: seatId, origin, at: now };
        this.ctx.storage.transactionSync(() => cancelRecordedBooking(this.sql, cancel));
        return { ok: true, released: 1 };
      }
      // Expired holds were swept by `change`, so any hold left on the seat is live.
      const released = this.holds.releaseSeat(seatId, origin, now);
      this.scheduleAlarm();
      return { ok: true, released };
    });
  }

  /** Frees every booking and every live hold of the show. Blocks stay. */
  resetAll(origin: Origin): ReleaseResult {
    return this.change(null, (now): ReleaseResult => {
      const released = this.ctx.storage.transactionSync(
        () => cancelAllBookings(this.sql, { origin, at: now }) + this.holds.releaseAll(origin, now),
      );
      this.scheduleAlarm();
      return { ok: true, released };
    });
  }

  /** One page of the audit log, oldest first, after sequence number `after` (holds due logged first, as every read sees them). */
  auditLog(after: number, limit: number): AuditResult {
    return this.read(() => ({ ok: true, ...auditPage(this.sql, { after, limit }) }));
  }

  // ---- Reads -------------------------------------------------------------------------------

  /** The seat map as JSON text (the Worker composes its own; see `seatFrame`) and its ETag; holds due are swept first, so the tag moves with the content. */
  seatMapJson(filter: SeatFilter = {}): SeatMapResult {
    return this.read((version) => {
      const json = this.seating.json(version, filter);
      return typeof json === "string" ? { ok: true, json, etag: this.seating.etag(version) } : json;
    });
  }

  /** Every seat's status, one character each in plan order, and the counts per category; tagged like the seat map. */
  statusesJson(): SeatMapResult {
    return this.read((at) => ({ ok: true, json: this.seating.statusesJson(at), etag: this.seating.etag(at) }));
  }

  /** The seat map's frame at `layout` (see `SeatFrame`); `layout_changed` once the show has another, so no Worker keeps it under the wrong version. */
  seatFrame(layout: number): SeatFrameResult {
    if (this.seating.info === null) return UNKNOWN_SHOW;
    if (layout !== this.seating.layoutVersion()) return { ok: false, reason: "layout_changed" };
    return { ok: true, json: this.seating.frameJson(), etag: `"${layout}"` };
  }

  /** The seating plan as JSON text, tagged with the layout version it belongs to. */
  plan(): PlanResult {
    return this.read(() => ({ ok: true, json: this.seating.planJson(), etag: `"${this.seating.layoutVersion()}"` }));
  }

  /** Stops an admission pass from holding or booking more: its buyer left the queue early. */
  revokePass(ticket: string): void {
    if (this.seating.info !== null) q.revokePass(this.sql, { ticket, at: this.clock() });
  }

  /** Counters since the object started, for operators and the benchmark. */
  stats(): ShowStats {
    return { seatMapReads: this.seating.reads, ...this.orders, ...this.feed.counts };
  }

  /** Name, capacity and available seats, and the state they describe, as the catalog keeps them. */
  summaryPush(): SummaryPushResult {
    return this.read((version) => ({ ok: true, summary: this.seating.summary(version) }));
  }

  // ---- The live seat map -------------------------------------------------------------------

  /** A relay starts listening: it gets the layout and a snapshot, then every batch of changes. */
  subscribe(relay: string): SubscribeResult {
    return this.read(() => ({ ok: true, ...this.feed.subscribe(relay) }));
  }

  /** A relay whose last watcher left stops listening (unless it has subscribed again since; see `LiveFeed.leave`). */
  unsubscribe(relay: string, subscription?: string): void {
    if (this.seating.info !== null) this.feed.leave(relay, subscription);
  }

  /** Expires holds whose time has come and forgets day-old idempotency keys. Running it twice changes nothing more. */
  override async alarm(): Promise<void> {
    this.alarm_.fired();
    if (this.seating.info === null) return;
    const now = this.clock();
    this.feed.publishing(() => {
      this.expireHolds(now);
      this.answers.forgetExpired(now);
    });
    await this.summaries.pushIfChanged(this.seating.summary(), now);
    this.scheduleAlarm();
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
    if (this.seating.info === null) return UNKNOWN_SHOW;
    return this.feed.publishing(() => {
      const now = this.clock();
      this.expireHolds(now);
      const refused = authorize();
      if (refused) return refused;
      const result = idempotency === null ? run(now) : this.answers.answer(idempotency, now, () => run(now));
      const summaryNewlyDue = result.ok && this.summaries.changed(now);
      if (summaryNewlyDue || idempotency !== null) this.scheduleAlarm();
      return result;
    });
  }

  /** Runs a read of the show, unknown shows refused, holds whose time has come swept first (see `sweptVersion`). */
  private read<R>(run: (version: number) => R): R | Failure {
    return this.seating.info === null ? UNKNOWN_SHOW : run(this.sweptVersion());
  }

  /** Sweeps holds whose time has come, so that a read's tag moves with its content; the last change. */
  private sweptVersion(now = this.clock()): number {
    this.feed.publishing(() => this.expireHolds(now));
    return q.latestChange(this.sql);
  }

  private expireHolds(now: number): void {
    if (!this.holds.expireDue(now)) return;
    this.summaries.changed(now);
    this.scheduleAlarm();
  }

  /** Keeps the alarm set for the next hold expiry or idempotency-key purge, whichever comes first. */
  private scheduleAlarm(): void {
    this.holds.refresh();
    this.alarm_.set(Math.min(this.holds.nextExpiry, this.answers.nextExpiry(), this.summaries.dueAt));
  }
}
