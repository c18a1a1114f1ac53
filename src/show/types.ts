import type { Id, PublicId } from "../ids";

/** A sold seat, as the API returns it. The token is present only in the answer that made the booking. */
export interface Booking {
  id: string;
  show_id: PublicId;
  seat_id: PublicId;
  user_id: PublicId | null;
  /** ISO 8601, UTC. */
  booked_at: string;
  /**
   * Secret that cancels this booking. Returned in the answer that made it, and replayed only to
   * a retry with that answer's Idempotency-Key; stored only as a hash, and inside a sealed answer.
   */
  booking_token: string;
}

/** A seat's state as anyone may see it. */
export type SeatStatus = "available" | "held" | "booked" | "blocked";

export type SeatCounts = Record<SeatStatus, number> & { total: number };

/** Everything a buyer may see of a show: no tokens, no user ids, no hold or booking ids. */
export interface SeatMap {
  show_id: PublicId;
  name: string;
  seats: { seat_id: PublicId; status: SeatStatus }[];
  counts: SeatCounts;
  categories: CategoryCount[];
}

/** Seats of one price category, and how many of them are available. */
export interface CategoryCount {
  name: string;
  color: string;
  total: number;
  available: number;
}

/** `?category=` and `?zone=` of the seat map, by name; absent means any. */
export interface SeatFilter {
  category?: string;
  zone?: string;
}

/** What a hold asks for: named seats, or the best block of `count` adjacent seats. */
export type SeatSelection = { seatIds: Id[] } | { best: { count: number } & SeatFilter };

/** A held seat as its buyer is told of it. */
export interface SelectedSeat {
  seat_id: PublicId;
  /** "Stalls, row C, seat 12". */
  label: string;
  zone: string;
  row: string;
  number: string;
  category: string;
}

export interface ShowSummary {
  show_id: PublicId;
  name: string;
  capacity: number;
  available: number;
  categories: CategoryCount[];
}

/**
 * A show's summary as the show pushes it to the catalog, with the state it describes (layout
 * version, then last change), so that a push that arrives late never overwrites a newer one.
 */
export interface SummaryPush {
  showId: Id;
  name: string;
  capacity: number;
  available: number;
  categories: CategoryCount[];
  layout: number;
  version: number;
}

/** A hold as its creator sees it. */
export interface Hold {
  hold_id: string;
  seat_ids: PublicId[];
  /** ISO 8601, UTC. After this the seats are free again and the hold cannot be confirmed. */
  expires_at: string;
}

/** Who asked for a change, and through which route; written to the audit log. */
export interface Origin {
  /** `"METHOD /route/:pattern"`. */
  route: string;
  /** A user id, `"admin"`, or `"anonymous"`. */
  actor: string;
  /**
   * The queue ticket whose admission pass came with a hold or booking, while the show's waiting
   * room is on: the seats it holds or books count against that pass's budget.
   */
  pass?: string | null;
  /**
   * A new hold's client address (see `clientKey`), hashed, while limits per address are on: the
   * seats it holds count against what one address may hold at once.
   */
  client?: string;
}

/**
 * What the object is told of a request's `Idempotency-Key`: never the key itself, but what
 * HKDF-SHA-256 derives from it, and a fingerprint of the request it came with.
 */
export interface IdempotencyKey {
  /** Hex; the id the first answer is stored under. */
  lookup: string;
  /** 32 bytes; the AES-256-GCM key the stored answer is sealed with. Never stored. */
  secret: Uint8Array;
  /** Hex SHA-256 of the route and the validated request. */
  fingerprint: string;
}

/** The layout an admin asks for: the plan, which the show lays out (its seats in plan order). */
export interface ShowLayout {
  showId: Id;
  name: string;
  /**
   * The plan the Worker validated, as UTF-8 JSON. Bytes cross the call as they are: a plan of
   * 100,000 seats as objects, with its seats laid out beside it, was cloned to more than the 32 MiB
   * a call may carry.
   */
  plan: Uint8Array;
  /**
   * The SHA-256 of `plan`, in hex, which the Worker works out: the same bytes are the same plan, so
   * a PUT that sends the plan the show has (a rename, a new order limit, a retry) is known for one
   * without parsing or laying out its seats. Absent (a Worker of an earlier deploy), the plan is
   * compared as laid out.
   */
  planDigest?: string;
  /** Seats one hold or group booking may name; absent keeps the show's current limit (10 for a new show). */
  maxSeatsPerOrder?: number;
}

/** Ways a call can fail; the edge maps each to one HTTP status. */
export type Failure =
  | { ok: false; reason: "unknown_show" }
  | { ok: false; reason: "unknown_seats"; seat_ids: PublicId[] }
  /** Some seats are held by someone else, booked or blocked. */
  | { ok: false; reason: "unavailable"; seat_ids: PublicId[] }
  | { ok: false; reason: "hold_not_found" }
  | { ok: false; reason: "hold_expired" }
  | { ok: false; reason: "hold_released" }
  | { ok: false; reason: "hold_confirmed" }
  | { ok: false; reason: "booking_not_found" }
  | { ok: false; reason: "wrong_token" }
  /** The Idempotency-Key was first used with a different request. */
  | { ok: false; reason: "idempotency_mismatch" }
  /** A layout change would drop seats that are booked or held. */
  | { ok: false; reason: "seats_in_use"; seat_ids: PublicId[] }
  /** A hold or group booking names more seats than the show allows in one order. */
  | { ok: false; reason: "order_too_large"; limit: number; field?: string }
  /** The admission pass has held or booked as many seats as one order may have. */
  | { ok: false; reason: "pass_used_up"; limit: number; used: number }
  /** The admission pass's buyer left the queue: their slot went to the next buyer. */
  | { ok: false; reason: "pass_revoked" }
  /** The show has as many live watchers as it accepts. */
  | { ok: false; reason: "too_many_watchers" }
  /** The client's address already holds as many of the show's seats as one address may at once. */
  | { ok: false; reason: "address_holds_too_many"; limit: number; held: number; retryAfter: number }
  /** The client's address holds as many of a relay's live sockets as one address may. */
  | { ok: false; reason: "too_many_watchers_from_address"; limit: number }
  /** A filter or best-available request names a category or zone the plan does not have. */
  | { ok: false; reason: "unknown_category"; category: string }
  | { ok: false; reason: "unknown_zone"; zone: string }
  /** No block of that many adjacent available seats is left (in that category or zone). */
  | { ok: false; reason: "no_adjacent_seats" }
  /** The show's database is past its high-water mark: no new holds or cancellations by token (see `StorageGuard`). */
  | { ok: false; reason: "storage_full" };

/** What every call answers for a show that was never created. */
export const UNKNOWN_SHOW: Failure = { ok: false, reason: "unknown_show" };

export type Result<T> = ({ ok: true } & T) | Failure;

/**
 * `version`: the show's change number once the change was made (the live seat map numbers its
 * updates so), so that a page can tell the updates from before its own change from those after.
 */
export type BookResult = Result<{ bookings: Booking[]; version?: number }>;
export type HoldResult = Result<{ hold: Hold }>;
/** A new hold carries its token, returned this once. */
export type NewHoldResult = Result<{ hold: Hold & { hold_token: string; seats: SelectedSeat[] }; version: number }>;
export type ConfigureResult = Result<{ created: boolean; show: ShowSummary; push: SummaryPush }>;
export type ReleaseResult = Result<{ released: number }>;
export type BlockResult = Result<{ seat_ids: PublicId[] }>;
/** The seat map as JSON text, ready to send, and its ETag (quoted, as HTTP writes it). */
export type SeatMapResult = Result<{ json: string; etag: string }>;
/**
 * The seat map's frame (see `SeatFrame`) as JSON text and its ETag (the layout version), or
 * `layout_changed` when the show no longer has the layout version asked for.
 */
export type SeatFrameResult = SeatMapResult | { ok: false; reason: "layout_changed" };
/** The plan as JSON text, ready to send, and its ETag (the layout version). */
export type PlanResult = Result<{ json: string; etag: string }>;
export type SummaryResult = Result<{ summary: ShowSummary }>;
export type SummaryPushResult = Result<{ summary: SummaryPush }>;
export type AuditResult = Result<AuditPage>;

export interface AuditEntry {
  seq: number;
  seat_id: PublicId;
  old_status: SeatStatus;
  new_status: SeatStatus;
  actor: string;
  route: string;
  /** The hold or booking the change belongs to, if any. */
  ref: string | null;
  /** Why, where one was given (block reasons, expiry). */
  note: string | null;
  at: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `after` to get the next page; null at the end of the log. */
  next_after: number | null;
}

/** A show object's counters since it started (see `Show.stats`). */
export interface ShowStats {
  /** Seat-map, statuses and frame reads. */
  seatMapReads: number;
  orders: number;
  ordersWithPass: number;
  /** Batches of changes for the live relays, messages sent to them, and relays that subscribed. */
  batches: number;
  relayMessages: number;
  subscriptions: number;
}
