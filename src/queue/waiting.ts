import type { RoomConfig, Waiting } from "./types";

/** Polls while waiting: about this many before the buyer's turn, however far back they are. */
export const POLLS_BEFORE_TURN = 4;
export const MAX_RETRY_AFTER_SECONDS = 600;

/**
 * What a waiting buyer at `position` (1 is next) is told: the estimated wait at the room's rate,
 * and when to ask again, a quarter of the wait (at least a second), so that a buyer polls about
 * POLLS_BEFORE_TURN times before their turn wherever they stand, and a queue of any length polls at
 * about 4 × rate × ln(length) a second in all.
 */
export function waitingAt(position: number, room: Pick<RoomConfig, "admitPerMinute">): Waiting {
  const wait = Math.ceil((position * 60) / room.admitPerMinute);
  const retry = Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(wait / POLLS_BEFORE_TURN)));
  return { state: "waiting", position, estimated_wait_seconds: wait, retry_after: retry };
}
