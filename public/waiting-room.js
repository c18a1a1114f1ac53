// @ts-check
// The waiting room in front of a show's on-sale, as the page shows it: whether the room is on,
// this tab's place in the queue (position, estimated wait, progress, the next check), and, once
// admitted, the pass that every hold and booking of the show must carry. The queue is polled no
// sooner than the server says (Retry-After), one request at a time, even across a reload.

import { noteServerTime, serverNow } from "./server-clock.js";

/** @typedef {import("zod").output<typeof import("../src/contract/answers").WaitingRoom>} RoomSettings */
/** @typedef {import("zod").output<typeof import("../src/contract/answers").QueueJoined>} QueueJoined */
/** @typedef {import("zod").output<typeof import("../src/contract/answers").QueueStatus>} QueueStatus */
/** @typedef {Extract<QueueStatus, { state: "waiting" }>} Waiting */
/** @typedef {Extract<QueueStatus, { state: "admitted" }>} Admitted */

/**
 * Where the page stands with the open show's waiting room; holds and bookings are allowed only
 * when it is "off" or "admitted".
 * - "checking": asking whether the room is on
 * - "off": no waiting room; the page behaves as if there were none
 * - "outside": the room is on and this tab has no place in its queue
 * - "waiting": this tab has a place in the queue
 * - "admitted": this tab holds a pass
 * @typedef {"checking" | "off" | "outside" | "waiting" | "admitted"} Gate
 */

/**
 * This tab's place in a show's queue, kept in sessionStorage by show so that a reload keeps the
 * place, waits out the Retry-After it was given, and keeps the pass. Times are ms since the epoch.
 * @typedef {object} Ticket
 * @property {string} ticket_id
 * @property {string} ticket_token
 * @property {number | null} first_position the first position the queue gave: where the progress bar starts
 * @property {Waiting | null} last what the queue last said while the ticket waited
 * @property {number} told_at when it said so
 * @property {number} next_check_at the earliest time the server welcomes the next poll
 * @property {number | null} polled_at when a poll went that has had no answer yet (a reload may cut it off)
 * @property {string | null} pass
 * @property {string | null} pass_expires_at
 */

/**
 * The open show's waiting room. A new one replaces it whenever another show is opened, so that an
 * answer about the show before is recognised as stale and dropped.
 * @typedef {object} Session
 * @property {string} showId
 * @property {RoomSettings | null} room its settings, when known
 * @property {Ticket | null} ticket
 * @property {ReturnType<typeof setTimeout> | undefined} timer the next poll
 * @property {number} backoff seconds to wait after a poll that got no answer
 */

/**
 * The panel's elements, which the page's HTML has.
 * @typedef {object} WaitingRoomElements
 * @property {HTMLElement} panel
 * @property {HTMLElement} heading
 * @property {HTMLElement} intro
 * @property {HTMLElement} waiting
 * @property {HTMLElement} position
 * @property {HTMLElement} wait
 * @property {HTMLProgressElement} progress
 * @property {HTMLElement} next
 * @property {HTMLElement} admitted
 * @property {HTMLElement} passLeft
 * @property {HTMLButtonElement} join
 * @property {HTMLButtonElement} leave
 * @property {HTMLButtonElement} end
 * @property {HTMLElement} status a live region: joining, admission, leaving and losing a place are announced
 */

/**
 * What a queue route answered; which fields are there depends on the status.
 * @typedef {{ status: number; data: Record<string, unknown> & { error?: string }; retryAfter: number | null }} QueueAnswer
 */

const STORAGE_PREFIX = "waiting-room:";
/** A poll that got no answer (network down, 5xx without Retry-After) is tried again this many seconds later, doubling. */
const FIRST_BACKOFF_SECONDS = 5;
const MAX_BACKOFF_SECONDS = 60;
/** The longest wait believed from storage: a clock that jumped must not stop the polling for good. */
const MAX_WAIT_SECONDS = 600;

export class WaitingRoomPanel {
  /** @type {Gate} */
  gate = "checking";
  #ui;
  #onChange;
  #say;
  /** @type {Session | null} */
  #session = null;
  /** @type {ReturnType<typeof setInterval> | undefined} counts the waits and the session down, once a second */
  #ticker = undefined;

  /**
   * @param {WaitingRoomElements} ui
   * @param {{ onChange: (gate: Gate) => void; say: (text: string, isError?: boolean) => void }} hooks
   *   `onChange` hears every change of gate; `say` speaks for the page when the panel is hidden
   */
  constructor(ui, { onChange, say }) {
    this.#ui = ui;
    this.#onChange = onChange;
    this.#say = say;
    ui.join.addEventListener("click", () => this.#join());
    ui.leave.addEventListener("click", () => this.#leave());
    ui.end.addEventListener("click", () => this.#leave());
  }

  /** Whether holds and bookings of the open show may be asked for now. */
  get mayOrder() {
    return this.gate === "off" || this.gate === "admitted";
  }

  /** The pass to send as Admission-Pass with holds and bookings of the open show, while admitted. */
  get pass() {
    return this.gate === "admitted" ? (this.#session?.ticket?.pass ?? undefined) : undefined;
  }

  /**
   * Looks at a newly opened show's room, and takes up where this tab left its queue (a reload).
   * @param {string} showId
   */
  async open(showId) {
    if (this.#session) clearTimeout(this.#session.timer);
    /** @type {Session} */
    const session = { showId, room: null, ticket: storedTicket(showId), timer: undefined, backoff: 0 };
    this.#session = session;
    this.#announce("");
    this.#setGate("checking");
    const room = await roomOf(showId);
    if (this.#session !== session) return;
    if (room?.on === false) {
      // An off room has forgotten every ticket.
      this.#forget(session);
      return this.#setGate("off");
    }
    // A page that cannot tell lets the buyer try: a hold refused for want of a pass asks again.
    if (room === null && session.ticket === null) return this.#setGate("off");
    session.room = room;
    this.#resume(session);
  }

  /**
   * A hold or booking of the open show was refused with 403 for want of a valid pass: the room
   * was turned on since the page looked, or the pass ran out. Shows the queue again.
   * @param {{ error?: string; limit?: number }} answer
   * @returns {Promise<string>} what to tell the buyer
   */
  async refused(answer) {
    const session = this.#session;
    // A pass that has held or booked all the seats one buyer may have is still good for the rest.
    if (session === null || answer.limit !== undefined) return answer.error ?? "Refused.";
    const hadPass = this.gate === "admitted";
    if (hadPass) this.#forget(session);
    const room = await roomOf(session.showId);
    if (this.#session !== session) return "";
    if (room?.on === false) {
      this.#setGate("off");
      return "The waiting room has just closed: try again.";
    }
    session.room = room ?? session.room;
    if (this.gate !== "waiting") this.#setGate("outside");
    const text = hadPass
      ? "Your admission pass was not accepted (it may have run out). Join the queue again to hold or book seats."
      : "This on-sale has a waiting room: join the queue, and you can hold and book seats when it is your turn.";
    // The page says it where the refused action was; saying it twice would be heard twice.
    this.#announce("");
    return text;
  }

  // ---- Where the ticket stands ------------------------------------------------------------

  /** @param {Session} session */
  #resume(session) {
    const ticket = session.ticket;
    if (ticket === null) return this.#setGate("outside");
    if (ticket.pass !== null) {
      if (Date.parse(ticket.pass_expires_at ?? "") > serverNow()) return this.#setGate("admitted");
      return this.#expire(session);
    }
    this.#setGate("waiting");
    // A poll the reload cut off may have reached the server, which then counts from it.
    const cutOff =
      typeof ticket.polled_at !== "number"
        ? 0
        : ticket.polled_at + 1000 * (ticket.last?.retry_after ?? FIRST_BACKOFF_SECONDS);
    this.#pollAt(session, Math.max(ticket.next_check_at, cutOff));
  }

  /**
   * Polls the ticket at `at`, and not before; one timer at a time.
   * @param {Session} session
   * @param {number} at
   */
  #pollAt(session, at) {
    clearTimeout(session.timer);
    // A time that is no number (storage from elsewhere) waits a while rather than not at all.
    const wait = Number.isFinite(at) ? at - Date.now() : FIRST_BACKOFF_SECONDS * 1000;
    const delay = Math.min(Math.max(0, wait), MAX_WAIT_SECONDS * 1000);
    session.timer = setTimeout(() => this.#poll(session), delay);
  }

  /** @param {Session} session */
  async #poll(session) {
    const ticket = session.ticket;
    if (ticket === null) return;
    ticket.polled_at = Date.now();
    storeTicket(session.showId, ticket);
    const answer = await call("GET", ticketPath(ticket), ticket.ticket_token);
    ticket.polled_at = null;
    if (this.#session !== session || session.ticket !== ticket) return;
    if (answer === null) return this.#tryAgain(session, null);
    const { status, data } = answer;
    if (status === 200 && data.state === "admitted") return this.#admitted(session, /** @type {Admitted} */ (data));
    if (status === 200) return this.#waiting(session, /** @type {Waiting} */ (data), answer.retryAfter);
    // Too early (another tab's poll, a clock that jumped): wait as long as the server says.
    if (status === 429)
      return this.#waitUntil(session, Date.now() + 1000 * Math.max(1, answer.retryAfter ?? FIRST_BACKOFF_SECONDS));
    if (status === 404 || status === 410 || status === 401 || status === 403) return this.#lost(session, status);
    return this.#tryAgain(session, answer.retryAfter);
  }

  /**
   * @param {Session} session
   * @param {Waiting} waiting
   * @param {number | null} retryAfter seconds until the next poll is welcome
   */
  #waiting(session, waiting, retryAfter) {
    const ticket = /** @type {Ticket} */ (session.ticket);
    session.backoff = 0;
    ticket.last = waiting;
    ticket.told_at = Date.now();
    if (waiting.position !== null && (ticket.first_position === null || waiting.position > ticket.first_position)) {
      ticket.first_position = waiting.position;
    }
    this.#waitUntil(session, ticket.told_at + 1000 * Math.max(1, retryAfter ?? waiting.retry_after));
  }

  /**
   * Saves when the next poll may go, and schedules it.
   * @param {Session} session
   * @param {number} at
   */
  #waitUntil(session, at) {
    const ticket = /** @type {Ticket} */ (session.ticket);
    ticket.next_check_at = at;
    storeTicket(session.showId, ticket);
    this.#render();
    this.#pollAt(session, at);
  }

  /**
   * No answer, or one the page cannot use: tries again later, never sooner than the server said.
   * @param {Session} session
   * @param {number | null} retryAfter
   */
  #tryAgain(session, retryAfter) {
    session.backoff = Math.min(
      MAX_BACKOFF_SECONDS,
      session.backoff === 0 ? FIRST_BACKOFF_SECONDS : session.backoff * 2,
    );
    const seconds = Math.max(session.backoff, retryAfter ?? 0, session.ticket?.last?.retry_after ?? 0);
    this.#waitUntil(session, Date.now() + seconds * 1000);
  }

  /**
   * @param {Session} session
   * @param {Admitted} admitted
   */
  #admitted(session, admitted) {
    const ticket = /** @type {Ticket} */ (session.ticket);
    ticket.pass = admitted.pass;
    ticket.pass_expires_at = admitted.pass_expires_at;
    ticket.last = null;
    storeTicket(session.showId, ticket);
    this.#setGate("admitted");
    const until = timeOf(Date.parse(admitted.pass_expires_at));
    this.#announce(`It's your turn! You can hold and book seats until ${until}.`);
  }

  /**
   * The queue no longer knows the ticket: it left (in another tab), its turn ran out, or the
   * room was turned off, which forgets every ticket.
   * @param {Session} session
   * @param {number} status
   */
  async #lost(session, status) {
    this.#forget(session);
    if (status === 404) {
      const room = await roomOf(session.showId);
      if (this.#session !== session) return;
      if (room?.on === false) {
        this.#setGate("off");
        return this.#say("The waiting room has closed: you can hold and book seats directly.");
      }
      session.room = room ?? session.room;
    }
    this.#setGate("outside");
    this.#announce("Your place in the queue is no longer valid. Join the queue again to hold or book seats.", true);
  }

  /** @param {Session} session */
  #expire(session) {
    this.#forget(session);
    this.#setGate("outside");
    this.#announce("Your session has ended. Join the queue again to hold or book more seats.", true);
  }

  /** @param {Session} session */
  #forget(session) {
    clearTimeout(session.timer);
    session.ticket = null;
    storeTicket(session.showId, null);
  }

  // ---- The buyer's buttons ----------------------------------------------------------------

  async #join() {
    const session = this.#session;
    if (session === null || this.gate !== "outside") return;
    this.#ui.join.disabled = true;
    this.#announce("Joining the queue…");
    const answer = await call("POST", `/api/shows/${encodeURIComponent(session.showId)}/queue`);
    this.#ui.join.disabled = false;
    if (this.#session !== session) return;
    if (answer?.status === 201) {
      const joined = /** @type {QueueJoined} */ (answer.data);
      const { ticket_id, state, position, estimated_wait_seconds, retry_after } = joined;
      const now = Date.now();
      session.ticket = {
        ticket_id,
        ticket_token: joined.ticket_token,
        first_position: position,
        last: { ticket_id, state, position, estimated_wait_seconds, retry_after },
        told_at: now,
        next_check_at: now + 1000 * Math.max(1, retry_after),
        polled_at: null,
        pass: null,
        pass_expires_at: null,
      };
      storeTicket(session.showId, session.ticket);
      this.#setGate("waiting");
      this.#pollAt(session, session.ticket.next_check_at);
      this.#announce("You joined the queue.");
      this.#ui.position.focus();
      return;
    }
    if (answer?.status === 409) {
      this.#setGate("off");
      return this.#say("This show has no waiting room any more: you can hold and book seats directly.");
    }
    const later = answer?.retryAfter ? ` Try again in ${answer.retryAfter} seconds.` : "";
    const error =
      answer === null ? "Could not reach the server." : (answer.data.error ?? `Could not join (${answer.status}).`);
    this.#announce(`${error}${later}`, true);
  }

  /** Leaves the queue, or ends an admitted session early: the slot goes to the next buyer. */
  async #leave() {
    const session = this.#session;
    const ticket = session?.ticket;
    if (!session || !ticket) return;
    const wasAdmitted = this.gate === "admitted";
    clearTimeout(session.timer);
    this.#ui.leave.disabled = this.#ui.end.disabled = true;
    const answer = await call("DELETE", ticketPath(ticket), ticket.ticket_token);
    this.#ui.leave.disabled = this.#ui.end.disabled = false;
    if (this.#session !== session || session.ticket !== ticket) return;
    if (answer !== null && (answer.status === 200 || answer.status === 404 || answer.status === 410)) {
      this.#forget(session);
      this.#setGate("outside");
      const text = wasAdmitted ? "Session ended: your slot goes to the next buyer." : "You left the queue.";
      this.#announce(text);
      this.#ui.join.focus();
      return;
    }
    this.#announce(answer?.data.error ?? "Could not reach the server; you are still in the queue.", true);
    if (!wasAdmitted) this.#pollAt(session, ticket.next_check_at);
  }

  // ---- Drawing ----------------------------------------------------------------------------

  /** @param {Gate} gate */
  #setGate(gate) {
    const changed = gate !== this.gate;
    this.gate = gate;
    clearInterval(this.#ticker);
    if (gate === "waiting" || gate === "admitted") this.#ticker = setInterval(() => this.#render(), 1000);
    this.#render();
    if (changed) this.#onChange(gate);
  }

  #render() {
    const ui = this.#ui;
    const gate = this.gate;
    const session = this.#session;
    ui.panel.hidden = gate === "off" || gate === "checking";
    ui.panel.classList.toggle("admitted", gate === "admitted");
    setText(ui.heading, gate === "admitted" ? "It's your turn" : "This on-sale has a waiting room");
    ui.intro.hidden = gate !== "outside";
    if (gate === "outside") setText(ui.intro, introOf(session?.room ?? null));
    ui.waiting.hidden = gate !== "waiting";
    ui.admitted.hidden = gate !== "admitted";
    ui.join.hidden = gate !== "outside";
    ui.leave.hidden = gate !== "waiting";
    ui.end.hidden = gate !== "admitted";
    const ticket = session?.ticket;
    if (!session || !ticket) return;
    if (gate === "waiting") this.#renderPlace(ticket);
    if (gate === "admitted") {
      const left = Date.parse(ticket.pass_expires_at ?? "") - serverNow();
      if (!(left > 0)) return this.#expire(session);
      setText(ui.passLeft, clock(left / 1000));
    }
  }

  /**
   * Position, estimated wait and progress (or, before opening, the countdown to it), and the
   * next check; the waits count down between polls.
   * @param {Ticket} ticket
   */
  #renderPlace(ticket) {
    const ui = this.#ui;
    const last = ticket.last;
    const left = Math.max(0, (last?.estimated_wait_seconds ?? 0) - (Date.now() - ticket.told_at) / 1000);
    if (last === null || last.position === null) {
      setText(ui.position, "You are in the queue");
      setText(
        ui.wait,
        left >= 1
          ? `The sale opens in ${clock(left)}. The order of everyone who joined before then is drawn at random.`
          : "The sale is opening: the order is being drawn.",
      );
      // Nothing to measure progress by until there is a position: the bar shows it is waiting.
      ui.progress.removeAttribute("value");
    } else {
      const position = last.position;
      setText(
        ui.position,
        position === 1 ? "You are next in the queue" : `You are number ${position.toLocaleString("en")} in the queue`,
      );
      setText(ui.wait, `Estimated wait: ${left >= 1 ? aboutDuration(left) : "any moment now"}`);
      const first = Math.max(ticket.first_position ?? position, position);
      ui.progress.max = first;
      ui.progress.value = first - position;
    }
    const until = Math.ceil((ticket.next_check_at - Date.now()) / 1000);
    setText(
      ui.next,
      until > 0
        ? `Next check at ${timeOf(ticket.next_check_at)} (in ${until} s). Keep this page open; reloading keeps your place.`
        : "Checking your place…",
    );
  }

  /**
   * @param {string} text
   * @param {boolean} [isError]
   */
  #announce(text, isError = false) {
    this.#ui.status.textContent = text;
    this.#ui.status.classList.toggle("error", isError);
  }
}

// ---- Talking to the queue ---------------------------------------------------------------

/**
 * @param {string} method
 * @param {string} path
 * @param {string} [token]
 * @returns {Promise<QueueAnswer | null>} null when the server could not be reached
 */
async function call(method, path, token) {
  try {
    const response = await fetch(path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    noteServerTime(response);
    const data = await response.json().catch(() => ({ error: "The server sent an unreadable answer" }));
    // The header and the body say the same; the longer wait wins should they ever differ.
    const seconds = [Number(response.headers.get("retry-after") ?? NaN), Number(data.retry_after ?? NaN)];
    const known = seconds.filter((n) => Number.isFinite(n) && n >= 0);
    return { status: response.status, data, retryAfter: known.length > 0 ? Math.max(...known) : null };
  } catch {
    return null;
  }
}

/**
 * The show's waiting room, or null when the page cannot tell.
 * @param {string} showId
 * @returns {Promise<RoomSettings | null>}
 */
async function roomOf(showId) {
  const answer = await call("GET", `/api/shows/${encodeURIComponent(showId)}/waiting-room`);
  return answer?.status === 200 ? /** @type {RoomSettings} */ (answer.data) : null;
}

/** @param {Ticket} ticket */
const ticketPath = (ticket) => `/api/queue/${encodeURIComponent(ticket.ticket_id)}`;

// ---- Remembering the place --------------------------------------------------------------

/**
 * @param {string} showId
 * @returns {Ticket | null}
 */
function storedTicket(showId) {
  try {
    const ticket = JSON.parse(sessionStorage.getItem(STORAGE_PREFIX + showId) ?? "null");
    return typeof ticket?.ticket_id === "string" && typeof ticket.ticket_token === "string" ? ticket : null;
  } catch {
    return null;
  }
}

/**
 * @param {string} showId
 * @param {Ticket | null} ticket
 */
function storeTicket(showId, ticket) {
  try {
    if (ticket === null) sessionStorage.removeItem(STORAGE_PREFIX + showId);
    else sessionStorage.setItem(STORAGE_PREFIX + showId, JSON.stringify(ticket));
  } catch {
    // Storage may be off or full: the place is then kept in memory only, until a reload.
  }
}

// ---- In words ---------------------------------------------------------------------------

/** @param {RoomSettings | null} room */
function introOf(room) {
  const rate = room?.admit_per_minute ? ` (${room.admit_per_minute.toLocaleString("en")} a minute)` : "";
  const text =
    `Buyers are let in a few at a time${rate}, in the order they joined. ` +
    "You can look at the seat map meanwhile; holding and booking open when it is your turn.";
  const opensAt = Date.parse(room?.opens_at ?? "");
  if (!(opensAt > serverNow())) return text;
  return `${text} The sale opens at ${timeOf(opensAt)}: everyone who joins before then gets a place drawn at random, so there is no need to rush.`;
}

/**
 * A wait in words: "a few seconds", "about 40 seconds", "about 2 minutes", "about 1 hour 15 minutes".
 * @param {number} seconds
 */
export function aboutDuration(seconds) {
  if (seconds < 10) return "a few seconds";
  if (seconds < 55) return `about ${Math.round(seconds / 10) * 10} seconds`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return minutes === 1 ? "about a minute" : `about ${minutes} minutes`;
  const rounded = Math.round(minutes / 5) * 5;
  const [hours, rest] = [Math.floor(rounded / 60), rounded % 60];
  return `about ${hours} ${hours === 1 ? "hour" : "hours"}${rest > 0 ? ` ${rest} minutes` : ""}`;
}

/**
 * A countdown: "9:05", "1:02:03".
 * @param {number} seconds
 */
function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  const [h, m, s] = [Math.floor(whole / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  const mm = h > 0 ? String(m).padStart(2, "0") : String(m);
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

/**
 * A moment as the buyer's clock shows it: the time, with the day when it is not today.
 * @param {number} ms
 */
function timeOf(ms) {
  const date = new Date(ms);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" })}, ${time}`;
}

/**
 * Sets an element's text only when it changes, so that a live region speaks only of news.
 * @param {HTMLElement} element
 * @param {string} text
 */
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}
