import type { Id } from "../ids";

/** A show's waiting room, as an admin sets it. Times in ms since the epoch. */
export interface RoomConfig {
  /** When admission starts. Everyone who joins before is put in random order at this moment. */
  opensAt: number;
  /** Buyers let in a minute, spread evenly over it. */
  admitPerMinute: number;
  /** How long a pass admits its buyer. */
  sessionMinutes: number;
}

/**
 * The room as the Worker needs it: off, or on with its config, how many shards hold its tickets,
 * and which time it was turned on (`session`, ms): passes name it, so that a pass from an earlier
 * time the room was on admits to no later one.
 */
export type RoomStatus = { on: false } | ({ on: true } & RoomSession & RoomConfig & PlaceScale);

/** Which time the room was turned on (ms; each later than the one before), and how many shards hold its tickets. */
export interface RoomSession {
  session: number;
  shards: number;
}

/**
 * Where the places of buyers who join after opening count from (ms): the earliest opening time the
 * room has had since it was turned on. Moving the opening later does not move it, so a buyer who
 * joins after the new opening never gets a place ahead of one who joined after the old one.
 * Absent (an earlier deploy), places count from `opensAt`.
 */
export interface PlaceScale {
  placesFrom?: number;
}

/** A new place in the queue: its id and its secret, returned once. */
export interface NewTicket {
  ticket_id: string;
  ticket_token: string;
}

/** A waiting buyer's place. */
export interface Waiting {
  state: "waiting";
  /** 1 for the next buyer in; null before opening, when the order is not drawn yet. */
  position: number | null;
  estimated_wait_seconds: number;
  /** Seconds until the next poll is welcome; earlier polls get 429. */
  retry_after: number;
}

/**
 * A waiting ticket's shard, when the queue has several: the ticket's place and the tickets ahead
 * of it there. The Worker adds those ahead in the other shards to make the position.
 */
export interface Counting {
  state: "counting";
  ord: number;
  ahead: number;
}

/** What a buyer polling the queue is told. */
export type TicketStatus = Waiting | { state: "admitted"; pass: string; pass_expires_at: string };

export type TicketFailure =
  | { ok: false; reason: "ticket_not_found" | "wrong_token" | "pass_expired" | "queue_full" }
  /** The call was made for an earlier time the room was on than the shard's tickets joined under. */
  | { ok: false; reason: "room_changed" }
  /** `admitted`: the ticket had been let in before it left (its pass must stay revoked). */
  | { ok: false; reason: "ticket_left"; admitted?: boolean }
  | { ok: false; reason: "too_early"; retry_after: number }
  | { ok: false; reason: "address_queued_too_many"; limit: number };

/** Who joins, for the limit of waiting tickets one address may have: its address's hash, and the limit. */
export interface Joiner {
  client: string;
  limit: number;
}

export type TicketResult<T> = ({ ok: true } & T) | TicketFailure;

/** Where a ticket's shard is: `<show>.<shard>.<22 random characters>`. */
export interface TicketRef {
  ref: string;
  showId: Id;
  shard: number;
}
