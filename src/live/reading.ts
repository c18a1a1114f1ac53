import { Buffer } from "node:buffer";
import { randomBase64Url } from "../random";

/** After this many bytes sent that a watcher has not shown it read, it is asked to echo. */
export const ECHO_AFTER = 32 * 1024;
/** A watcher that has this many bytes waiting unread is closed (1008): it is not reading. */
export const MAX_UNREAD = 256 * 1024;
/** A watcher that has not answered its echo this long after it went out is closed at the next send. */
export const ECHO_TIMEOUT_MS = 20_000;

/** What one socket has been sent and not shown it read. */
interface Unread {
  /** Bytes sent since the last echo the watcher answered (or since it connected). */
  sent: number;
  /** The echo the watcher owes, if any: its nonce, how much had been sent when it went out, and when. */
  echo: { nonce: string; sentBefore: number; at: number } | null;
}

/**
 * Whether each watcher reads what it is sent. The runtime queues every message for a socket
 * until its client reads it, with no limit and no way to ask how much waits (workerd has no
 * `bufferedAmount`), so a client that connects and never reads would make its relay keep every
 * batch, every snapshot and every answer to its resyncs, until the relay runs out of memory and
 * drops all its watchers. So each socket's sends are counted, and after ECHO_AFTER bytes it is
 * sent `{"type":"echo","nonce":…}`, which it answers with the same message: the nonce is new for
 * each echo and queued behind everything sent before it, so only a client that has read all of
 * that can answer. While it owes one, its resyncs are not answered (see `owesEcho`), so what it
 * asks for cannot pile up; one that lets MAX_UNREAD pile up, or leaves its echo unanswered for
 * ECHO_TIMEOUT_MS, is closed with 1008, and nothing more is sent to it. The counts are kept in
 * memory: a relay only hibernates when nothing is being sent, and then nothing piles up.
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

  /** Sends `text` to a watcher; a watcher that has stopped reading is closed instead. */
  send(socket: WebSocket, text: string): void {
    const bytes = this.bytesOf(text);
    let unread = this.unread.get(socket);
    if (unread === undefined) this.unread.set(socket, (unread = { sent: 0, echo: null }));
    const overdue = unread.echo !== null && Date.now() - unread.echo.at > this.echoTimeoutMs;
    if (unread.sent > 0 && (overdue || unread.sent + bytes > this.maxUnread)) {
      this.unread.delete(socket);
      closeQuietly(socket, 1008, "not reading");
      return;
    }
    if (!sendQuietly(socket, text)) return;
    unread.sent += bytes;
    if (unread.echo === null && unread.sent >= this.echoAfter) {
      unread.echo = { nonce: randomBase64Url(12), sentBefore: unread.sent, at: Date.now() };
      sendQuietly(socket, JSON.stringify({ type: "echo", nonce: unread.echo.nonce }));
    }
  }

  /** The watcher echoed `nonce`: what was sent before that echo has been read. False for a nonce it was not sent. */
  echoed(socket: WebSocket, nonce: string): boolean {
    const unread = this.unread.get(socket);
    if (unread?.echo?.nonce !== nonce) return false;
    unread.sent -= unread.echo.sentBefore;
    unread.echo = null;
    return true;
  }

  /** Whether the watcher has an echo to answer before anything it asks for is sent. */
  owesEcho(socket: WebSocket): boolean {
    return this.unread.get(socket)?.echo != null;
  }

  private bytesOf(text: string): number {
    if (text !== this.last.text) this.last = { text, bytes: Buffer.byteLength(text, "utf8") };
    return this.last.bytes;
  }
}

/** Sends without throwing; false when the socket is closing (its close handler cleans up). */
export function sendQuietly(socket: WebSocket, text: string): boolean {
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
