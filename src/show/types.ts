import type { Id, PublicId } from "../ids";

/** A sold seat, as the API returns it. */
export interface Booking {
  id: string;
  show_id: PublicId;
  seat_id: PublicId;
  user_id: PublicId | null;
  /** ISO 8601, UTC. */
  booked_at: string;
}

export type SeatStatus = "available" | "booked";

export interface SeatCounts {
  total: number;
  available: number;
  booked: number;
}

/** Everything a buyer may see of a show: no booking ids, no user ids. */
export interface SeatMap {
  show_id: PublicId;
  name: string;
  seats: { seat_id: PublicId; status: SeatStatus }[];
  counts: SeatCounts;
}

export interface ShowSummary {
  show_id: PublicId;
  name: string;
  capacity: number;
  available: number;
}

/**
 * What `Show.book` returns. A taken seat is an expected outcome, not an
 * exception, so it travels back over RPC as a value.
 */
export type BookResult =
  { ok: true; booking: Booking } | { ok: false; reason: "unknown_show" | "unknown_seat" | "taken" };

export type ConfigureResult =
  | { ok: true; created: boolean; show: ShowSummary }
  /** The new layout leaves out seats that are sold; nothing was changed. */
  | { ok: false; reason: "would_drop_booked_seats"; seat_ids: PublicId[] };

export type ResetSeatResult = { ok: true; released: boolean } | { ok: false; reason: "unknown_show" | "unknown_seat" };

export type ResetShowResult = { ok: true; released: number } | { ok: false; reason: "unknown_show" };

/** The layout an admin asks for: seat ids in display order. */
export interface ShowLayout {
  showId: Id;
  name: string;
  seatIds: Id[];
}
