import type { PublicId } from "../ids";
import type { SeatStatus } from "../show/types";

/**
 * The live seat map's protocol. Watchers' sockets are held by relay objects (`LiveRelay`), never
 * by the show's object; the show sends each relay one message per batch of changes.
 *
 * Server to client:
 * - `layout`: the show's name, layout version and seat count; once per layout version: on
 *   connect, and again when the layout changes. Where each seat is comes from the plan
 *   (`GET /api/shows/:show_id/plan`), whose seats are in the same order as the statuses.
 * - `snapshot`: every seat's status as one character per seat in plan order (`STATUS_CODES`),
 *   with the `version` (last change) and `layout` it describes; after `layout`, when a client
 *   is too far behind, and when the layout changes.
 * - `changes`: seat changes after version `since`, up to `version`, oldest first: the changes of
 *   one transaction and of one short tick (50 ms) together, or what a reconnecting client missed.
 *   A client whose version is below `since` has missed some, and asks to resync.
 * - `echo`: `{"type":"echo","nonce":…}`, after every 32 KiB or so sent: the client answers it with
 *   the same message, which shows that it reads what it is sent (see `ReadingWatchers`).
 * - `error`: the client sent something this protocol does not know, or too much.
 *
 * Client to server (at most a few a second; past that the socket is closed with 1008):
 * - `{"type":"resync","since":<version>,"layout":<layout>}`: send what I missed.
 * - `{"type":"echo","nonce":…}`: the answer to the server's echo, with its nonce.
 * - `{"type":"ping"}`: answered `{"type":"pong"}` by the runtime, without waking anything.
 */

/** A client more changes behind than this gets a snapshot instead of the changes. */
export const MAX_CATCH_UP = 1000;

/** Larger client messages are refused with an error frame. */
export const MAX_CLIENT_MESSAGE_BYTES = 1024;

export const PING = JSON.stringify({ type: "ping" });
export const PONG = JSON.stringify({ type: "pong" });

/**
 * One character per seat status in a snapshot's `statuses` (STATUS_CODES), and the status each
 * stands for (STATUS_OF_CODE); shared with the page through public/protocol.js.
 */
export { STATUS_CODES, STATUS_OF_CODE } from "../../public/protocol.js";

export interface SeatEvent {
  seat_id: PublicId;
  /** The seat's number in plan order: its character in a snapshot's `statuses`. */
  place: number;
  status: SeatStatus;
  version: number;
}

/** Where a client's view of the show stands: the last change it saw, under which layout. */
export interface Position {
  since: number;
  layout: number;
}

export interface LayoutMessage {
  type: "layout";
  layout: number;
  show_id: PublicId;
  name: string;
  /** How many seats the layout has: the length of a snapshot's `statuses`. */
  seat_count: number;
}

export interface SnapshotMessage {
  type: "snapshot";
  layout: number;
  version: number;
  /** One character of STATUS_CODES per seat, in the layout's order. */
  statuses: string;
}

export interface ChangesMessage {
  type: "changes";
  layout: number;
  /** The version these changes follow. */
  since: number;
  version: number;
  changes: SeatEvent[];
}

export interface EchoMessage {
  type: "echo";
  /** New for each echo; the client sends the message back as it came. */
  nonce: string;
}

export type ServerMessage = LayoutMessage | SnapshotMessage | ChangesMessage | EchoMessage | ErrorMessage;

/**
 * The client sent something this protocol does not know, or too much; `reason` "echo_owed": a
 * resync that came while the client owed an echo, unanswered (send it again after the echo).
 */
export interface ErrorMessage {
  type: "error";
  error: string;
  reason?: "echo_owed";
}

/** What a client may send (besides the ping, which the runtime answers). */
export type ClientMessage = ({ type: "resync" } & Position) | EchoMessage;

/**
 * A client's message, or the error to answer it with; `close` when the socket must also be closed
 * with that code (binary: 1003, too large: 1009), since serving such frames costs their size.
 */
export function parseClientMessage(
  message: string | ArrayBuffer,
): ClientMessage | { error: string; close?: 1003 | 1009 } {
  if (typeof message !== "string") return { error: "Messages must be JSON text", close: 1003 };
  // A character is one to three bytes in UTF-8: only a frame between a third of the limit and
  // the limit in characters needs counting (and never one of megabytes).
  const { length } = message;
  if (
    length > MAX_CLIENT_MESSAGE_BYTES ||
    (length * 3 > MAX_CLIENT_MESSAGE_BYTES && utf8Bytes(message) > MAX_CLIENT_MESSAGE_BYTES)
  ) {
    return { error: `Messages must not exceed ${MAX_CLIENT_MESSAGE_BYTES} bytes`, close: 1009 };
  }
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return { error: "Messages must be JSON" };
  }
  const type = typeof value === "object" && value !== null ? (value as { type?: unknown }).type : undefined;
  if (type === "echo") {
    const { nonce } = value as { nonce?: unknown };
    return typeof nonce === "string" ? { type, nonce } : { error: "echo needs the nonce it was sent" };
  }
  if (type !== "resync") {
    return { error: 'Unknown message; send {"type":"resync","since":<version>,"layout":<layout>} or {"type":"ping"}' };
  }
  const { since, layout } = value as { since?: unknown; layout?: unknown };
  return isPositionNumber(since) && isPositionNumber(layout)
    ? { type, since, layout }
    : { error: "resync needs since and layout, each a whole number of 0 or more" };
}

function utf8Bytes(text: string): number {
  return new TextEncoder().encode(text).byteLength;
}

function isPositionNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
