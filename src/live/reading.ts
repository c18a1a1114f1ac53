import { randomBase64Url } from "../random";

/** After this many characters sent that a watcher has not shown it read, it is asked to echo. */
export const ECHO_AFTER = 64 * 1024;
/** A watcher that has this many characters waiting unread is closed (1008): it is not reading. */
export const MAX_UNREAD = 512 * 1024;

/** What one socket has been sent and not shown it read. */
interface Unread {
  /** Characters sent since the last echo the watcher answered (or since it connected). */
  sent: number;
  /** The echo the watcher owes, if any, and how much had been sent when it went out. */
  echo: { nonce: string; sentBefore: number } | null;
}

/**
 * Whether each watcher reads what it is sent. The runtime queues every message for a socket
 * until its client reads it, with no limit and no way to ask how much waits (workerd has no
 * `bufferedAmount`), so a client that connects and never reads would make its relay keep every
 * batch, every snapshot and every answer to its resyncs, until the relay runs out of memory and
 * drops all its watchers. So each socket's sends are counted, and after ECHO_AFTER characters it
 * is sent `{"type":"echo","nonce":…}`, which it answers with the same message: the nonce is new
 * for each echo and queued behind everything sent before it, so only a client that has read all
 * of that can answer. One that lets MAX_UNREAD pile up without answering is closed with 1008, and
 * nothing more is sent to it. The counts are kept in memory: a relay only hibernates when nothing
 * is being sent, and then nothing piles up.
 */
export class ReadingWatchers {
  private readonly unread = new WeakMap<WebSocket, Unread>();

  /** Tests make these small. */
  constructor(
    public echoAfter = ECHO_AFTER,
    public maxUnread = MAX_UNREAD,
  ) {}

  /** Sends `text` to a watcher; a watcher that has stopped reading is closed instead. */
  send(socket: WebSocket, text: string): void {
    let unread = this.unread.get(socket);
    if (unread === undefined) this.unread.set(socket, (unread = { sent: 0, echo: null }));
    if (unread.sent + text.length > this.maxUnread && unread.sent > 0) {
      this.unread.delete(socket);
      closeQuietly(socket, 1008, "not reading");
      return;
    }
    if (!sendQuietly(socket, text)) return;
    unread.sent += text.length;
    if (unread.echo === null && unread.sent >= this.echoAfter) {
      unread.echo = { nonce: randomBase64Url(12), sentBefore: unread.sent };
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
