import type { Id } from "../ids";
import * as q from "./queries";
import type { Origin } from "./types";

/** Blocks seats the caller has checked are available, logging each (inside the caller's transaction). */
export function blockSeats(
  sql: SqlStorage,
  { seats, reason, origin, at }: { seats: Id[]; reason: string; origin: Origin; at: number },
): void {
  for (const seat of seats) {
    q.insertBlock(sql, { seat, reason, at });
    q.audit(sql, { seat, from: "available", to: "blocked", origin, at, note: reason });
  }
}

/** Unblocks the seats that are blocked, logging each; returns those it unblocked. */
export function unblockSeats(
  sql: SqlStorage,
  { seats, origin, at }: { seats: Id[]; origin: Origin; at: number },
): Id[] {
  return seats.filter((seat) => {
    if (!q.deleteBlock(sql, { seat })) return false;
    q.audit(sql, { seat, from: "blocked", to: "available", origin, at });
    return true;
  });
}
