import { Buffer } from "node:buffer";
import { randomBase64Url } from "../random";

/** After this many bytes sent that a watcher has not shown it read, it is asked to echo. */
export const ECHO_AFTER = 32 * 1024;
/** A watcher that has this many bytes waiting unread is sent nothing more until it answers its echo. */
export const MAX_UNREAD = 256 * 1024;
/** A watcher that has not answered its echo this long after it went out is closed (1008) at the next send. */
export const ECHO_TIMEOUT_MS = 20_000;

/** The echo a watcher owes: its nonce, how much had been sent when it went out, and when. */
interface Echo {
  nonce: string;
  sentBefore: number;
  at: number;
}

/** What one socket has been sent and not shown it read. */
interface Unread {
  /** Bytes sent since the last echo the watcher answered (or since it connected, or the relay woke). */
  sent: number;
  echo: Echo | null;
  /** Whether sends were held back (MAX_UNREAD): the watcher needs a fresh view once it answers. */
  stale: boolean;
  /** Whether an answer that ended a hold-back is waiting for its fresh view (one view an answer). */
  viewOwed: boolean;
}

/** What a socket's attachment keeps, so that an owed echo outlives the relay's hibernation. */
interface Kept {
  echo: Echo | null;
  stale: boolean;
}

/** What a watcher's echo answer was: right (and whether it needs a fresh view now), or not one it owed. */
export type EchoAnswer = "read" | "read, stale" | "not owed";

/**
 * Whether each watcher reads what it is sent. The runtime queues every message for a socket
 * until its client reads it, with no limit and no way to ask how much waits (workerd has no
 * `bufferedAmount`), so a client that connects and never reads would make its relay keep every
 * batch, every snapshot and every answer to its resyncs, until the relay runs out of memory and
 * drops all its watchers. So each socket's sends are counted, and after ECHO_AFTER bytes it is
 * sent `{"type":"echo","nonce":…}`, which it answers with the same message: the nonce is new for
 * each echo and queued behind everything sent before it, so only a client that has read all of
 * that can answer. While it owes one, its resyncs are not answered (see `owesEcho`); once
 * MAX_UNREAD waits, nothing more is sent to it (it is marked stale, and the relay sends it a fresh
 * view when it answers: a burst of snapshots to a slow reader costs it a moment, not its socket);
 * one that leaves its echo unanswered for ECHO_TIMEOUT_MS is closed with 1008 at the next send.
 *
 * The counts are kept in memory; the owed echo and the stale mark are kept in the socket's
 * attachment too, so that a relay that hibernates and wakes still refuses that socket's resyncs and
 * still closes it in time. (The bytes counted are not: a watcher restored owing an echo counts as
 * full until it answers; see `of`.)
 */
export class ReadingWatchers {
  private readonly unread = new WeakMap<WebSocket, Unread>();
  /** The last text sent and its size in bytes: a batch goes to every watcher, and is measured once. */
  private last = { text: "", bytes: 0 };

  /** Tests make these small. */
  constructor(
    public echoAfter = ECHO_AFTER,
    public maxUnread = MAX_UNREAD,
    public echoTimeoutMs = ECHO_TIMEOUT_MS,
  ) {}

  /**
   * Sends `text` to a watcher: not when MAX_UNREAD already waits for it (it is marked stale
   * instead), and not at all to one whose echo is overdue, which is closed.
   */
  send(socket: WebSocket, text: string): void {
    this.sendCounted(socket, text, false);
  }

  /**
   * Sends a watcher a view whole (the layout, then a snapshot or what it missed), however much
   * already waits: it stands for everything before it, and held back in part it would never
   * arrive. A watcher gets one when it connects, and one each time it answers an echo it was
   * held back for, which it can only do by reading.
   */
  sendView(socket: WebSocket, messages: string[]): void {
    for (const text of messages) this.sendCounted(socket, text, true);
  }

  /** Sends the fresh view an answer that ended a hold-back is owed; nothing when it has had it. */
  sendOwedView(socket: WebSocket, messages: string[]): void {
    const unread = this.of(socket);
    if (!unread.viewOwed) return;
    unread.viewOwed = false;
    this.sendView(socket, messages);
  }

  private sendCounted(socket: WebSocket, text: string, whole: boolean): void {
    const unread = this.of(socket);
    if (unread.echo !== null && Date.now() - unread.echo.at > this.echoTimeoutMs) {
      this.unread.delete(socket);
      closeQuietly(socket, 1008, "not reading");
      return;
    }
    if (unread.stale) return;
    const bytes = this.bytesOf(text);
    if (!whole && unread.sent > 0 && unread.sent + bytes > this.maxUnread) return this.holdBack(socket, unread);
    if (!sendQuietly(socket, text)) return;
    unread.sent += bytes;
    if (unread.echo === null && unread.sent >= this.echoAfter) this.askForEcho(socket, unread);
  }

  /**
   * Sends a watcher nothing more until it answers an echo, which its answer's fresh view makes
   * up for (it is asked for one if it owes none, so that it always has one to answer). Also for a
   * watcher whose fresh view could not be sent: it answers again, and the relay tries again.
   */
  holdBack(socket: WebSocket, unread = this.of(socket)): void {
    unread.stale = true;
    if (unread.echo === null) this.askForEcho(socket, unread);
    else keep(socket, unread);
  }

  private askForEcho(socket: WebSocket, unread: Unread): void {
    unread.echo = { nonce: randomBase64Url(12), sentBefore: unread.sent, at: Date.now() };
    keep(socket, unread);
    sendQuietly(socket, JSON.stringify({ type: "echo", nonce: unread.echo.nonce }));
  }

  /** The watcher echoed `nonce`: what was sent before that echo has been read. */
  echoed(socket: WebSocket, nonce: string): EchoAnswer {
    const unread = this.of(socket);
    if (unread.echo?.nonce !== nonce) return "not owed";
    unread.sent = Math.max(0, unread.sent - unread.echo.sentBefore);
    unread.echo = null;
    const stale = unread.stale;
    unread.stale = false;
    if (stale) unread.viewOwed = true;
    // What was sent after the echo may be ECHO_AFTER already: then the next is asked for now, so
    // that a watcher that owes none never has more than that unconfirmed (across a wake too).
    if (unread.sent >= this.echoAfter) this.askForEcho(socket, unread);
    else keep(socket, unread);
    return stale ? "read, stale" : "read";
  }

  /** Whether the watcher has an echo to answer before anything it asks for is sent. */
  owesEcho(socket: WebSocket): boolean {
    return this.of(socket).echo !== null;
  }

  private of(socket: WebSocket): Unread {
    let unread = this.unread.get(socket);
    if (unread === undefined) {
      const kept = (socket.deserializeAttachment() as Kept | null) ?? { echo: null, stale: false };
      // The bytes counted before the relay woke are gone. A watcher that owed an echo is taken
      // to have MAX_UNREAD waiting, all of it confirmed by its answer: it is sent nothing more
      // until then (a reader that answers in time never owes one across a hibernation, which
      // takes seconds of quiet). One that owed none starts again from 0, with at most
      // ECHO_AFTER unconfirmed from before.
      const echo = kept.echo === null ? null : { ...kept.echo, sentBefore: this.maxUnread };
      unread = { sent: echo === null ? 0 : this.maxUnread, echo, stale: kept.stale, viewOwed: false };
      this.unread.set(socket, unread);
    }
    return unread;
  }

  private bytesOf(text: string): number {
    if (text !== this.last.text) this.last = { text, bytes: Buffer.byteLength(text, "utf8") };
    return this.last.bytes;
  }
}

function keep(socket: WebSocket, { echo, stale }: Unread): void {
  try {
    socket.serializeAttachment({ echo, stale } satisfies Kept);
  } catch {
    // A socket that is closing keeps nothing.
  }
}

/** Sends without throwing; false when the socket is closing (its close handler cleans up). */
function sendQuietly(socket: WebSocket, text: string): boolean {
  try {
    socket.send(text);
    return true;
  } catch {
    return false;
  }
}

function closeQuietly(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason);
  } catch {
    // Already closing.
  }
}
