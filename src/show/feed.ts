import { LiveQuery } from "../contract/requests";
import { failureToHttp } from "../http/failures";
import { errorResponse, HttpError } from "../http/responses";
import { parseBody } from "../http/validation";
import { publicId, type Id } from "../ids";
import { MAX_CATCH_UP, parseClientMessage, type Position, type ServerMessage } from "./live";
import * as q from "./queries";
import type { SeatMap } from "./types";

/** What the feed needs from the show it reports on. */
export interface FeedHost {
  /** The whole seat map, for snapshots. */
  seatMap(): SeatMap;
  layoutVersion(): number;
}

/** Close codes a server may send back (RFC 6455 7.4); any other is answered with 1000. */
function closeCodeToSend(code: number): number {
  const sendable =
    (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999);
  return sendable ? code : 1000;
}

/**
 * The live seat map's sockets. The object accepts them through the WebSocket Hibernation API,
 * so idle watchers cost nothing; the feed greets each with a snapshot (or what it missed),
 * answers resyncs, and tells every watcher of each committed seat change.
 */
export class LiveFeed {
  constructor(
    private readonly ctx: DurableObjectState,
    /** Sockets one show accepts; each change is sent to all of them from inside the object. */
    private readonly maxWatchers: number,
    private readonly host: FeedHost,
  ) {}

  get watchers(): number {
    return this.ctx.getWebSockets().length;
  }

  /**
   * Opens a socket for a live request of an existing show: checks its `?since=&layout=` and the
   * watcher limit, answering as the Worker would (400, 503), then accepts it.
   */
  open(request: Request, showId: Id): Response {
    try {
      const { since, layout } = parseBody(LiveQuery, Object.fromEntries(new URL(request.url).searchParams));
      if (this.watchers >= this.maxWatchers)
        throw failureToHttp({ ok: false, reason: "too_many_watchers" }, { showId });
      return this.accept(since === undefined || layout === undefined ? null : { since, layout });
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      throw error;
    }
  }

  /** Accepts a socket and greets it with a snapshot, or with just the changes a reconnecting client missed. */
  private accept(position: Position | null): Response {
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    server.send(JSON.stringify(this.catchUp(position)));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** A client asks to resync; anything else gets an error frame, and never disturbs the object. */
  answer(socket: WebSocket, message: string | ArrayBuffer): void {
    const parsed = parseClientMessage(message);
    const reply: ServerMessage = "error" in parsed ? { type: "error", error: parsed.error } : this.catchUp(parsed);
    socket.send(JSON.stringify(reply));
  }

  /** Completes a close the client began, echoing its code where the protocol allows. */
  close(socket: WebSocket, code: number): void {
    try {
      socket.close(closeCodeToSend(code), "closing");
    } catch {
      // Already closed.
    }
  }

  /**
   * Runs `work`, then sends watchers one event for each seat change it committed, read back
   * from the audit log: a change that was rolled back is not there, so it is never sent, and one
   * that committed before a later failure still is.
   */
  publishing<T>(work: () => T): T {
    if (this.watchers === 0) return work();
    const before = q.latestChange(this.ctx.storage.sql);
    try {
      return work();
    } finally {
      for (const row of q.changesSince(this.ctx.storage.sql, { since: before })) {
        this.broadcast({ type: "seat", seat_id: publicId(row.seat_id), status: row.new_status, version: row.seq });
      }
    }
  }

  /** Sends every watcher a fresh snapshot, after a layout change. */
  resnapshot(): void {
    if (this.watchers > 0) this.broadcast(this.snapshot());
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
    const version = q.latestChange(this.ctx.storage.sql);
    const layout = this.host.layoutVersion();
    if (
      position === null ||
      position.layout !== layout ||
      position.since > version ||
      version - position.since > MAX_CATCH_UP
    ) {
      return this.snapshot();
    }
    const changes = q
      .changesSince(this.ctx.storage.sql, { since: position.since })
      .map((row) => ({ seat_id: publicId(row.seat_id), status: row.new_status, version: row.seq }));
    return { type: "changes", version, layout, changes };
  }

  private snapshot(): ServerMessage {
    return {
      type: "snapshot",
      version: q.latestChange(this.ctx.storage.sql),
      layout: this.host.layoutVersion(),
      ...this.host.seatMap(),
    };
  }
}
