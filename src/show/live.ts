import type { PublicId } from "../ids";
import type { SeatMap, SeatStatus } from "./types";

/**
 * The live seat map's protocol, over a WebSocket held by the show's object.
 *
 * Server to client:
 * - `snapshot`: the whole seat map, with its `version` and `layout`; sent on connect, when
 *   a client is too far behind to catch up, and to everyone when the layout changes.
 * - `seat`: one seat changed status; `version` is the change's number (they only grow).
 * - `changes`: the seat changes a reconnecting client missed, oldest first.
 * - `error`: the client sent something this protocol does not know.
 *
 * Client to server:
 * - `{"type":"resync","since":<version>,"layout":<layout>}`: send what I missed.
 * - `{"type":"ping"}`: answered `{"type":"pong"}` without waking a hibernating object.
 */

/** A client more changes behind than this gets a snapshot instead of the changes. */
export const MAX_CATCH_UP = 1000;

/** Larger client messages are refused with an error frame. */
export const MAX_CLIENT_MESSAGE_BYTES = 1024;

export const PING = JSON.stringify({ type: "ping" });
export const PONG = JSON.stringify({ type: "pong" });

export interface SeatEvent {
  seat_id: PublicId;
  status: SeatStatus;
  version: number;
}

/** Where a client's view of the show stands: the last change it saw, under which layout. */
export interface Position {
  since: number;
  layout: number;
}

export type ServerMessage =
  | ({ type: "snapshot"; version: number; layout: number } & SeatMap)
  | ({ type: "seat" } & SeatEvent)
  | { type: "changes"; version: number; layout: number; changes: SeatEvent[] }
  | { type: "error"; error: string };

/** A client's message, or the error to answer it with. */
export function parseClientMessage(message: string | ArrayBuffer): Position | { error: string } {
  if (typeof message !== "string") return { error: "Messages must be JSON text" };
  if (message.length > MAX_CLIENT_MESSAGE_BYTES) {
    return { error: `Messages must not exceed ${MAX_CLIENT_MESSAGE_BYTES} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return { error: "Messages must be JSON" };
  }
  if (typeof value !== "object" || value === null || (value as { type?: unknown }).type !== "resync") {
    return { error: 'Unknown message; send {"type":"resync","since":<version>,"layout":<layout>} or {"type":"ping"}' };
  }
  const { since, layout } = value as { since?: unknown; layout?: unknown };
  return isPositionNumber(since) && isPositionNumber(layout)
    ? { since, layout }
    : { error: "resync needs since and layout, each a whole number of 0 or more" };
}

function isPositionNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
