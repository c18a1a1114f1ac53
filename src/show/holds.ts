import { publicId, type Id } from "../ids";
import { newRef } from "../random";
import * as q from "./queries";
import { newToken, tokenMatches } from "./tokens";
import type { Failure, Hold, Origin } from "./types";

/** How many times the per-address limit holds made with an admission pass may take an address to. */
export const WITH_PASS_FACTOR = 4;

/** The audit log's origin for changes the object makes by itself. */
const EXPIRY: Origin = { route: "hold expiry", actor: "system" };

/**
 * The life of holds: who may act on one, whether it is still live, ending one (freeing and
 * logging its seats), and expiring those whose time has come. Knows when the next hold expires,
 * so that calls before then skip the sweep.
 */
export class HoldLedger {
  /** When the next live hold expires (ms); until then no hold can have expired. */
  nextExpiry = Infinity;

  /**
   * @param ordersPerAddress how many orders' worth of seats (`max_seats_per_order` each) one client
   *   address may hold at once (HELD_ORDERS_PER_ADDRESS)
   */
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly ordersPerAddress: number,
  ) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** Reads when the next live hold expires; call after any change to a hold. */
  refresh(): void {
    this.nextExpiry = q.earliestHoldExpiry(this.sql);
  }

  /** Writes a new hold of seats the caller has checked are free, logging each, in one transaction. */
  create(hold: { showId: Id; seats: Id[]; user: Id | null; origin: Origin; at: number; expiresAt: number }): {
    hold: string;
    token: string;
  } {
    const { seats, user, origin, at, expiresAt } = hold;
    const id = newRef(hold.showId);
    const { token, hash } = newToken("ht");
    this.storage.transactionSync(() => {
      const { pass = null, client = null } = origin;
      q.insertHold(this.sql, { id, tokenHash: hash, user, at, expiresAt, pass, client });
      for (const seat of seats) {
        q.holdSeat(this.sql, { seat, hold: id });
        q.audit(this.sql, { seat, from: "available", to: "held", origin, at, ref: id });
      }
    });
    return { hold: id, token };
  }

  /**
   * Refuses a new hold of `seats` when its client address (limits per address on) would then
   * hold more of the show's seats than `ordersPerAddress` orders may: rate limits bound how fast an
   * address holds seats, not how many it keeps, and a hold lasts up to an hour. A hold made with an
   * admission pass may take the address to WITH_PASS_FACTOR times that: buyers who share an address
   * (a carrier's NAT) each get their own pass in a rush, and a script's many tickets still stop there.
   */
  refuseOverAddressLimit(origin: Origin, seats: Id[], maxSeatsPerOrder: number, now: number): Failure | null {
    if (origin.client === undefined || this.ordersPerAddress === Infinity) return null;
    const limit = this.ordersPerAddress * maxSeatsPerOrder * (origin.pass ? WITH_PASS_FACTOR : 1);
    const holds = q.holdsOfClient(this.sql, { client: origin.client, now });
    const held = holds.reduce((sum, hold) => sum + hold.seats, 0);
    if (held + seats.length <= limit) return null;
    // When enough of the address's holds have run out for this one, if nothing ends one sooner.
    let [left, until] = [held, now];
    for (const hold of holds) {
      if (left + seats.length <= limit) break;
      [left, until] = [left - hold.seats, hold.expires_at];
    }
    const retryAfter = Math.max(1, Math.ceil((until - now) / 1000));
    return { ok: false, reason: "address_holds_too_many", limit, held, retryAfter };
  }

  /**
   * Pushes a live hold's expiry to `ttlSeconds` from now, but never past `maxLifetime` seconds
   * after it was made, and never earlier than it was. Returns the new expiry.
   */
  extend(row: q.HoldRow, ttlSeconds: number, maxLifetime: number, now: number): number {
    const latest = row.created_at + maxLifetime * 1000;
    const expiresAt = Math.max(row.expires_at, Math.min(now + ttlSeconds * 1000, latest));
    q.setHoldExpiry(this.sql, { hold: row.id, expiresAt });
    return expiresAt;
  }

  /** Null when the hold exists and the token is its own. */
  access(holdId: string, token: string): Failure | null {
    const row = q.holdById(this.sql, { id: holdId });
    if (row === undefined) return { ok: false, reason: "hold_not_found" };
    return tokenMatches(token, row.token_hash) ? null : { ok: false, reason: "wrong_token" };
  }

  /** The hold, if it is still live (`access` has checked it exists). */
  live(holdId: string): { ok: true; row: q.HoldRow } | Failure {
    const row = q.holdById(this.sql, { id: holdId })!;
    return row.state === "active" ? { ok: true, row } : { ok: false, reason: `hold_${row.state}` };
  }

  /** Releases a live hold: frees its seats and logs each. Returns how many seats it freed. (Expiry: `expireDue`.) */
  release(hold: string, origin: Origin, now: number): number {
    const seats: Id[] = q.heldSeats(this.sql, { hold });
    this.storage.transactionSync(() => {
      for (const seat of seats) q.audit(this.sql, { seat, from: "held", to: "available", origin, at: now, ref: hold });
      q.endHold(this.sql, { hold, state: "released" });
    });
    return seats.length;
  }

  /** Releases the live hold that has the seat, if any; returns how many seats it freed. */
  releaseSeat(seat: Id, origin: Origin, now: number): number {
    const hold = q.holdOnSeat(this.sql, { seat });
    return hold === undefined ? 0 : this.release(hold.hold_id, origin, now);
  }

  /** Releases every live hold; returns how many seats they freed. */
  releaseAll(origin: Origin, now: number): number {
    return q.activeHolds(this.sql).reduce((count, hold) => count + this.release(hold.id, origin, now), 0);
  }

  /**
   * Expires every hold whose time has come; false when none could have. Set-based: holds that come
   * due together (a client can make theirs do so) cost the call that finds them a few statements,
   * not a round of statements and a transaction each.
   */
  expireDue(now: number): boolean {
    if (now < this.nextExpiry) return false;
    this.storage.transactionSync(() => q.expireHoldsDue(this.sql, { now, origin: EXPIRY }));
    return true;
  }
}

/** A hold as its creator sees it. */
export function describeHold(holdId: string, expiresAt: number, seatIds: Id[]): Hold {
  return { hold_id: holdId, seat_ids: seatIds.map(publicId), expires_at: new Date(expiresAt).toISOString() };
}
