// @ts-check
// The seat map page: pick a show, watch its seating plan live, wait your turn in its waiting room
// when it has one, hold or book seats.
// Talks only to this Worker's own API; nothing is loaded from anywhere else. Typed with JSDoc
// against the server's own message and answer types, and checked by `npm run typecheck`.

import { ID_PATTERN } from "./ids.js";
import { STATUS_OF_CODE } from "./protocol.js";
import { SeatMap } from "./seat-map.js";
import { noteServerTime, serverNow } from "./server-clock.js";
import { seatLabel, seatsInWords, venueOf } from "./venue.js";
import { WaitingRoomPanel } from "./waiting-room.js";

/** @typedef {import("../src/live/protocol").ServerMessage} ServerMessage */
/** @typedef {import("../src/live/protocol").SeatEvent} SeatEvent */
/** @typedef {import("../src/show/types").SeatStatus} SeatStatus */
/** @typedef {import("../src/ids").PublicId} PublicId */
/** @typedef {import("zod").output<typeof import("../src/contract/answers").NewHold>} NewHold */
/** @typedef {import("zod").output<typeof import("../src/contract/answers").Booking>} Booking */
/** @typedef {import("zod").output<typeof import("../src/contract/answers").ShowList>} ShowList */
/** @typedef {import("zod").output<typeof import("../src/contract/answers").ShowPlan>} ShowPlan */
/** @typedef {import("./venue.js").Venue} Venue */
/** @typedef {import("./seat-map.js").Look} Look */
/**
 * Every answer the page reads, success or error, as one loose shape: which fields are there
 * depends on the status, which the callers check first.
 * @typedef {Partial<NewHold> & { error?: string; seat_ids?: PublicId[]; bookings?: Booking[]; limit?: number; name?: string } & Partial<ShowList>} Answer
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** Attempts at fetching a plan whose layout is the live feed's, before the page gives up. */
const PLAN_ATTEMPTS = 8;
/** How long the page waits for the answer to a resync before it may ask again (the budget refills 2 a second). */
const RESYNC_WAIT_MS = 2000;
/** The first wait before reconnecting, doubled after each socket that did not stay up, up to the most. */
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MOST_MS = 30_000;
/** How long a socket must stay up for the next reconnect to wait only the first wait again. */
const STAYED_UP_MS = 10_000;

/**
 * The element with this id, which the page's HTML always has.
 * @param {string} id
 */
function $(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
}

const ui = {
  show: /** @type {HTMLSelectElement} */ ($("show")),
  name: /** @type {HTMLInputElement} */ ($("name")),
  map: $("map"),
  plan: /** @type {SVGSVGElement} */ (/** @type {unknown} */ ($("plan"))),
  seatInfo: $("seat-info"),
  zoomIn: $("zoom-in"),
  zoomOut: $("zoom-out"),
  zoomFit: $("zoom-fit"),
  categories: $("categories"),
  availableSwatch: $("available-swatch"),
  best: /** @type {HTMLFormElement} */ ($("best")),
  bestCount: /** @type {HTMLInputElement} */ ($("best-count")),
  bestCategory: /** @type {HTMLSelectElement} */ ($("best-category")),
  bestSubmit: /** @type {HTMLButtonElement} */ ($("best-submit")),
  bestHint: $("best-hint"),
  connection: $("connection"),
  selection: $("selection"),
  hold: /** @type {HTMLButtonElement} */ ($("hold")),
  book: /** @type {HTMLButtonElement} */ ($("book")),
  yourHold: $("your-hold"),
  holdSeats: $("hold-seats"),
  countdown: $("countdown"),
  confirm: /** @type {HTMLButtonElement} */ ($("confirm")),
  release: /** @type {HTMLButtonElement} */ ($("release")),
  message: $("message"),
  gateHint: $("gate-hint"),
};

/**
 * Everything the page knows about the show it shows. Seat ids are kept as the strings the
 * plan has (never turned into numbers: `"99999999999999999999"` is no JSON number); statuses
 * are kept by place, the seat's index in plan order.
 */
const state = {
  /** @type {string | null} */
  showId: null,
  /** @type {Venue | null} the plan drawn */
  venue: null,
  /** the layout version of the plan drawn, and of the statuses */
  layout: 0,
  /** @type {SeatStatus[]} by place */
  statuses: [],
  /** @type {Float64Array} by place: the number of the last update that said the seat was available (see `stillOwn`) */
  freedAt: new Float64Array(0),
  version: 0,
  /** @type {number[]} available seats of each category, by the category's index in the plan */
  available: [],
  /** @type {number[]} seats of each category */
  totals: [],
  /** @type {Set<string>} */
  selected: new Set(),
  /** @type {Set<string>} seats this page booked, so they can be shown as "yours" */
  mine: new Set(),
  /** @type {NewHold | null} this page's live hold */
  hold: null,
  /** @type {Set<string>} the live hold's seats */
  holdIds: new Set(),
  /** @type {Map<string, number>} the change number at which this page held or booked each seat of the hold or `mine` (see `noteOwnStatus`) */
  ownSince: new Map(),
  /** @type {WebSocket | null} */
  socket: null,
  /** when this page last asked its socket to resync (ms), or 0 when it has no resync outstanding */
  resyncSentAt: 0,
  /** whether the outstanding resync was refused for an owed echo and asked again already */
  resyncRetried: false,
  reconnectDelay: RECONNECT_FIRST_MS,
  /** @type {ReturnType<typeof setInterval> | undefined} the hold countdown's interval */
  countdown: undefined,
  /** @type {Set<string>} seats in a request this page has in flight: their live events are this page's own doing */
  pending: new Set(),
  /** a request is in flight; the action buttons wait for it */
  busy: false,
  /** @type {Promise<void>} live messages, handled one after another (a layout waits for its plan) */
  inbox: Promise.resolve(),
  /** @type {Map<string, Map<string, string>>} category colours from the show list, by show */
  listColors: new Map(),
};

const waitingRoom = new WaitingRoomPanel(
  {
    panel: $("queue"),
    heading: $("queue-heading"),
    intro: $("queue-intro"),
    waiting: $("queue-waiting"),
    position: $("queue-position"),
    wait: $("queue-wait"),
    progress: /** @type {HTMLProgressElement} */ ($("queue-progress")),
    next: $("queue-next"),
    admitted: $("queue-admitted"),
    passLeft: $("pass-left"),
    join: /** @type {HTMLButtonElement} */ ($("queue-join")),
    leave: /** @type {HTMLButtonElement} */ ($("queue-leave")),
    end: /** @type {HTMLButtonElement} */ ($("queue-end")),
    status: $("queue-status"),
  },
  { onChange: () => renderActions(), say: (text, isError) => say(text, isError) },
);

const map = new SeatMap({
  frame: ui.map,
  svg: ui.plan,
  info: ui.seatInfo,
  describe: (place) => describe(place),
  activate: (place) => toggle(place),
});

// ---- Talking to the API -----------------------------------------------------------------

/**
 * @template [T=Answer]
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {{ token?: string; pass?: string }} [credentials] a hold's token; the waiting room's
 *   admission pass, which holds and bookings of a show whose room is on must carry
 * @returns {Promise<{ status: number; data: T & { error?: string }; version: number }>} `version`: the
 *   show's change number once a change was made (`Seat-Map-Version`), or Infinity when it did not say
 */
async function api(method, path, body, { token, pass } = {}) {
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (pass) headers["admission-pass"] = pass;
  // Every change the page asks for (a hold, a booking, a confirmation) carries a key of its own, so
  // that when a show's object fails mid-call the Worker may call it again: the object answers a
  // repeat with its first answer, instead of a second sale answering this buyer 409.
  if (method === "POST") headers["idempotency-key"] = newKey();
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  noteServerTime(response);
  const data = await response.json().catch(() => ({ error: "The server sent an unreadable answer" }));
  const version = Number(response.headers.get("seat-map-version") ?? NaN);
  return { status: response.status, data, version: Number.isSafeInteger(version) ? version : Infinity };
}

/**
 * A random UUID for an Idempotency-Key. `crypto.randomUUID` exists only in secure contexts (HTTPS
 * or localhost); a page opened at a LAN address makes one from `getRandomValues` instead.
 */
function newKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes.set([((bytes[6] ?? 0) & 0x0f) | 0x40], 6); // version 4
  bytes.set([((bytes[8] ?? 0) & 0x3f) | 0x80], 8); // RFC 4122 variant
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function userId() {
  const name = ui.name.value.trim();
  if (name === "") return null;
  if (!ID_PATTERN.test(name)) throw new Error("Your name may use letters, digits, _ and - only (up to 64).");
  return name;
}

/** @param {string} path */
const showPath = (path) => `/api/shows/${encodeURIComponent(currentShow())}${path}`;

// ---- Seats in words -----------------------------------------------------------------------

/**
 * Seats in words, in plan order: "Zone 1, row 3, seat 5", or "Zone 1, row 3, seats 5 and 6; Zone 1,
 * row 4, seat 5".
 * @param {PublicId[]} ids
 */
function labelsOf(ids) {
  const venue = state.venue;
  if (venue === null) return ids.map((id) => `Seat ${id}`).join("; ");
  const placeOf = (/** @type {string} */ id) => venue.placeOf.get(id) ?? Infinity;
  return seatsInWords(
    venue,
    ids.map(String).sort((a, b) => placeOf(a) - placeOf(b)),
  );
}

/** @param {number} place */
function lookOf(place) {
  const id = state.venue?.ids[place] ?? "";
  const status = state.statuses[place] ?? "available";
  if ((status === "booked" && state.mine.has(id)) || (status === "held" && state.holdIds.has(id))) return "mine";
  if (status === "available" && state.selected.has(id)) return "selected";
  return status;
}

/**
 * The focused seat, in words: "Zone 1, row 3, seat 5, available, category A"; with no seat
 * focused (-1), the plan's size and how to explore it.
 * @param {number} place
 */
function describe(place) {
  const venue = state.venue;
  if (venue === null) return "";
  if (place < 0) {
    return `${venue.ids.length.toLocaleString("en")} seats. Point at one, or use the arrow keys, to see where it is.`;
  }
  const look = lookOf(place);
  const status = state.statuses[place] ?? "available";
  const words = look === "mine" ? `${status} by you` : look;
  const category = venue.categories[venue.categoryOf[place] ?? 0]?.name;
  return `${seatLabel(venue, place)}, ${words}${venue.categories.length > 1 ? `, category ${category}` : ""}`;
}

// ---- Live updates -----------------------------------------------------------------------

function connect() {
  if (state.socket) state.socket.close();
  const protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const resume = state.venue !== null ? `?since=${state.version}&layout=${state.layout}` : "";
  const socket = new WebSocket(`${protocol}//${location.host}${showPath("/live")}${resume}`);
  state.socket = socket;
  state.resyncSentAt = 0;
  ui.connection.textContent = "Connecting…";
  ui.connection.classList.remove("live");
  let openedAt = 0;

  socket.addEventListener("open", () => {
    openedAt = Date.now();
    ui.connection.textContent = "Live";
    ui.connection.classList.add("live");
  });
  socket.addEventListener("message", (event) => {
    /** @type {ServerMessage} */
    const message = JSON.parse(event.data);
    // The relay asks now and then whether this page reads what it is sent; answered at once, not
    // after a plan that may be loading, since a socket that does not answer in time is closed.
    if (message.type === "echo") return socket.send(JSON.stringify(message));
    state.inbox = state.inbox
      .then(() => (state.socket === socket ? handle(message, socket) : undefined))
      .catch((error) => say(error instanceof Error ? error.message : String(error), true));
  });
  socket.addEventListener("close", () => {
    if (state.socket !== socket) return;
    ui.connection.textContent = "Reconnecting…";
    ui.connection.classList.remove("live");
    // A socket that opened and closed at once (a failing relay, a proxy) counts as a failure, so a
    // crowd of pages backs off; and each waits a random part more, so they do not come back in step.
    if (openedAt !== 0 && Date.now() - openedAt >= STAYED_UP_MS) state.reconnectDelay = RECONNECT_FIRST_MS;
    const wait = state.reconnectDelay * (0.5 + Math.random());
    setTimeout(() => state.socket === socket && connect(), wait);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, RECONNECT_MOST_MS);
  });
}

/**
 * @param {ServerMessage} message
 * @param {WebSocket} socket
 */
async function handle(message, socket) {
  switch (message.type) {
    case "layout":
      // Where the seats are comes from the plan; their statuses follow in the snapshot.
      if (message.layout !== state.layout || state.venue === null) {
        ui.map.setAttribute("aria-busy", "true");
        await loadPlan(message.layout, socket);
      }
      break;
    case "snapshot":
      if (message.layout !== state.layout || state.venue === null) break;
      state.resyncSentAt = 0;
      applySnapshot(message.version, message.statuses);
      ui.map.setAttribute("aria-busy", "false");
      break;
    case "changes":
      if (message.layout !== state.layout || message.since > state.version) {
        // Some changes, or a new layout, never reached this page: ask for them rather than guess.
        // One resync at a time: its answer covers every batch that comes meanwhile, and the
        // socket's budget is a few messages a second (a page that asked for each would be closed).
        if (Date.now() - state.resyncSentAt < RESYNC_WAIT_MS) break;
        state.resyncSentAt = Date.now();
        state.resyncRetried = false;
        socket.send(JSON.stringify({ type: "resync", since: state.version, layout: state.layout }));
        break;
      }
      state.resyncSentAt = 0;
      message.changes.filter((change) => change.version > state.version).forEach(applyChange);
      state.version = Math.max(state.version, message.version);
      renderCounts();
      renderActions();
      break;
    case "error":
      // A resync that crossed an echo on the way: the echo has been answered since, so ask again,
      // once. Refused again, it waits like any resync (the next gap after RESYNC_WAIT_MS asks).
      if (message.reason === "echo_owed" && state.resyncSentAt !== 0 && !state.resyncRetried) {
        state.resyncSentAt = Date.now();
        state.resyncRetried = true;
        socket.send(JSON.stringify({ type: "resync", since: state.version, layout: state.layout }));
        break;
      }
      console.warn("live seat map:", message.error);
      break;
  }
}

/**
 * Fetches and draws the plan of layout `layout`. A copy of the plan may lag the live feed by a
 * moment, so an older one is asked for again; a newer one is drawn (its own layout message follows).
 * @param {number} layout
 * @param {WebSocket} socket
 */
async function loadPlan(layout, socket) {
  for (let attempt = 1; attempt <= PLAN_ATTEMPTS; attempt++) {
    /** @type {{ status: number; data: ShowPlan & { error?: string } }} */
    const { status, data } = await api("GET", showPath("/plan"));
    if (state.socket !== socket) return;
    if (status === 200 && data.layout >= layout) return drawPlan(data);
    if (status !== 200 && attempt === PLAN_ATTEMPTS) {
      throw new Error(data.error ?? `Could not load the seating plan (${status}).`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
  throw new Error("The seating plan did not catch up with the live seat map; reload the page.");
}

/** @param {ShowPlan} answer */
function drawPlan(answer) {
  const venue = venueOf(answer.plan, state.listColors.get(currentShow()));
  state.venue = venue;
  state.layout = answer.layout;
  state.version = 0;
  state.statuses = venue.ids.map(() => "available");
  state.freedAt = new Float64Array(venue.ids.length);
  state.totals = venue.categories.map(() => 0);
  venue.categoryOf.forEach((category) => (state.totals[category] = (state.totals[category] ?? 0) + 1));
  state.available = [...state.totals];
  // Seats of an earlier layout may be gone; a live hold keeps its own.
  for (const id of [...state.selected]) if (!venue.placeOf.has(id)) state.selected.delete(id);
  map.draw(venue, lookOf);
  drawLegend(venue);
  ui.seatInfo.textContent = describe(-1);
}

/**
 * @param {number} version
 * @param {string} codes one character per seat, in plan order
 */
function applySnapshot(version, codes) {
  const venue = /** @type {Venue} */ (state.venue);
  if (codes.length !== venue.ids.length) {
    console.warn(`live seat map: the snapshot has ${codes.length} seats, the plan ${venue.ids.length}`);
  }
  state.version = version;
  state.available = venue.categories.map(() => 0);
  venue.ids.forEach((id, place) => {
    const status = STATUS_OF_CODE[codes[place] ?? "a"] ?? "available";
    state.statuses[place] = status;
    if (status === "available") {
      countAvailable(place, 1);
      state.freedAt[place] = Math.max(state.freedAt[place] ?? 0, version);
    } else {
      state.selected.delete(id);
    }
    noteOwnStatus(id, status, version);
    map.paint(place, lookOf(place));
  });
  renderCounts();
  renderActions();
}

/** @param {SeatEvent} change */
function applyChange(change) {
  const id = String(change.seat_id);
  state.version = Math.max(state.version, change.version);
  const place = state.venue?.ids[change.place] === id ? change.place : state.venue?.placeOf.get(id);
  if (place === undefined) return;
  setStatus(place, change.status);
  if (change.status === "available") state.freedAt[place] = Math.max(state.freedAt[place] ?? 0, change.version);
  if (change.status !== "available" && state.selected.delete(id) && !state.pending.has(id)) {
    say(`${labelsOf([id])} was just taken by someone else.`, true);
  }
  noteOwnStatus(id, change.status, change.version);
  map.paint(place, lookOf(place));
}

/**
 * Keeps what the page owns in step with what the show says. A seat of the page's hold or bookings
 * that an update numbered after the page's own change (`ownSince`, from the answer's
 * `Seat-Map-Version`) says is available is no longer the page's: its booking was cancelled or
 * reset, or the hold released, expired or reset (which ends the whole hold). Otherwise another
 * buyer's hold or booking of it would be drawn as the page's own. The number tells the updates of
 * before the change from those after, in whatever order they and the answer arrive (a reconnect's
 * catch-up brings a hold, its release and the next hold of the same seats at once).
 * @param {string} id
 * @param {SeatStatus} status
 * @param {number} version the update's number, or the snapshot's
 */
function noteOwnStatus(id, status, version) {
  const since = state.ownSince.get(id);
  if (since === undefined || status !== "available" || !(version > since)) return;
  state.ownSince.delete(id);
  if (state.holdIds.has(id)) endHold("Your hold has ended: its seats are free again.", true);
  else state.mine.delete(id);
}

/**
 * Whether an update numbered after the page's own change (`version`) has said the seat is
 * available: it came before the change's answer, and the seat is not the page's any more.
 * @param {string} id
 * @param {number} version
 */
function freedSince(id, version) {
  const place = state.venue?.placeOf.get(id);
  return place !== undefined && (state.freedAt[place] ?? 0) > version;
}

/**
 * Draws a seat of the page's own change (numbered `version`) as the change made it, unless the live
 * updates have passed the change already: then they say it, and whatever came since.
 * @param {string} id
 * @param {number} version
 * @param {SeatStatus} status
 */
function showOwn(id, version, status) {
  const place = state.venue?.placeOf.get(id);
  if (place !== undefined && state.version < version) setStatus(place, status);
}

/**
 * Records a seat's status, keeping its category's count of available seats.
 * @param {number} place
 * @param {SeatStatus} status
 */
function setStatus(place, status) {
  const before = state.statuses[place];
  if (before === "available" && status !== "available") countAvailable(place, -1);
  if (before !== "available" && status === "available") countAvailable(place, 1);
  state.statuses[place] = status;
}

/**
 * @param {number} place
 * @param {1 | -1} change
 */
function countAvailable(place, change) {
  const category = state.venue?.categoryOf[place] ?? 0;
  state.available[category] = (state.available[category] ?? 0) + change;
}

// ---- Drawing ----------------------------------------------------------------------------

/**
 * Repaints these seats (ids), after something of this page's own changed how they look.
 * @param {Iterable<PublicId>} ids
 */
function repaint(ids) {
  for (const id of ids) {
    const place = state.venue?.placeOf.get(String(id));
    if (place !== undefined) map.paint(place, lookOf(place));
  }
}

/** @type {Element[]} each category's "N of M available", in the plan's order */
let categoryCounts = [];

/** @param {Venue} venue */
function drawLegend(venue) {
  ui.categories.replaceChildren(
    ...venue.categories.map((category) => {
      const item = document.createElement("li");
      item.dataset.category = category.name;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = category.name;
      const count = document.createElement("span");
      count.className = "count";
      item.append(swatch([category.color]), name, count);
      return item;
    }),
  );
  categoryCounts = [...ui.categories.querySelectorAll(".count")];
  ui.availableSwatch.replaceChildren(swatch(venue.categories.slice(0, 3).map((category) => category.color)));
  const chosen = ui.bestCategory.value;
  ui.bestCategory.replaceChildren(new Option("Any category", ""));
  for (const category of venue.categories) ui.bestCategory.append(new Option(category.name, category.name));
  ui.bestCategory.value = venue.categories.some((category) => category.name === chosen) ? chosen : "";
  renderCounts();
}

/**
 * A legend swatch: one seat in each of these colours, side by side.
 * @param {string[]} colors
 */
function swatch(colors) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "swatch");
  svg.setAttribute("viewBox", `-12 -12 ${24 * colors.length} 24`);
  svg.setAttribute("aria-hidden", "true");
  colors.forEach((color, i) => {
    const seat = document.createElementNS(SVG_NS, "circle");
    seat.setAttribute("cx", String(24 * i));
    seat.setAttribute("r", "9");
    seat.setAttribute("fill", color);
    seat.setAttribute("class", "seat");
    svg.append(seat);
  });
  return svg;
}

/** Each category's "N of M available", and the show list's "N of M free". */
function renderCounts() {
  const venue = state.venue;
  if (venue === null) return;
  categoryCounts.forEach((cell, i) => {
    const [free, total] = [state.available[i] ?? 0, state.totals[i] ?? 0].map((n) => n.toLocaleString("en"));
    cell.textContent = `${free} of ${total} available`;
  });
  const option = ui.show.selectedOptions[0];
  if (!option) return;
  const free = state.available.reduce((sum, n) => sum + n, 0);
  option.textContent = `${option.dataset.name} (${free} of ${venue.ids.length} free)`;
}

function renderActions() {
  const ids = [...state.selected];
  // While the show's waiting room keeps the buyer out, nothing new may be held or booked; a hold
  // made before needs only its own token to be booked or released.
  const queued = !waitingRoom.mayOrder;
  ui.selection.textContent =
    ids.length === 0 ? "No seats selected. Click available seats to pick them." : `Selected: ${labelsOf(ids)}`;
  ui.hold.disabled = queued || state.busy || ids.length === 0 || state.hold !== null;
  ui.book.disabled = queued || state.busy || ids.length === 0;
  ui.confirm.disabled = state.busy;
  ui.release.disabled = state.busy;
  ui.bestSubmit.disabled = queued || state.busy || state.hold !== null || state.venue === null;
  ui.gateHint.hidden = !queued || waitingRoom.gate === "checking";
  ui.gateHint.textContent = QUEUED_HINT;
  ui.bestHint.textContent = !ui.gateHint.hidden
    ? QUEUED_HINT
    : state.hold === null
      ? "The best block of seats side by side, held for you at once."
      : "Book or release your held seats first.";
  ui.yourHold.hidden = state.hold === null;
  if (state.hold) {
    ui.holdSeats.replaceChildren(
      ...state.hold.seats.map((seat) => {
        const item = document.createElement("li");
        item.textContent = seat.label;
        return item;
      }),
    );
  }
}

/**
 * @param {string} text
 * @param {boolean} [isError]
 */
function say(text, isError = false) {
  ui.message.textContent = text;
  ui.message.classList.toggle("error", isError);
}

// ---- Acting -----------------------------------------------------------------------------

/** Why holding and booking are off while the buyer waits in the show's queue. */
const QUEUED_HINT = "Holding and booking open when it is your turn in the waiting room's queue (above).";

/** @param {number} place */
function toggle(place) {
  const id = state.venue?.ids[place];
  if (id === undefined) return;
  const status = state.statuses[place];
  if (status !== "available") {
    say(`${labelsOf([id])} is ${lookOf(place) === "mine" ? `${status} by you` : status}.`, true);
    return;
  }
  if (!waitingRoom.mayOrder && !state.selected.has(id)) {
    say("You can pick seats once it is your turn in the queue.", true);
    return;
  }
  if (!state.selected.delete(id)) state.selected.add(id);
  map.paint(place, lookOf(place));
  renderActions();
}

/**
 * Runs one request at a time; the seats it is about are marked as this page's own.
 * @param {() => Promise<void>} work
 * @param {string[]} [seats]
 */
async function act(work, seats = []) {
  if (state.busy) return;
  state.busy = true;
  seats.forEach((id) => state.pending.add(id));
  renderActions();
  try {
    await work();
  } catch (error) {
    say(error instanceof Error ? error.message : String(error), true);
  } finally {
    state.busy = false;
    seats.forEach((id) => state.pending.delete(id));
    renderActions();
  }
}

/**
 * @param {number} status
 * @param {Answer} data
 * @returns {Promise<string>}
 */
async function explain(status, data) {
  // Holds and bookings get 403 only about the admission pass: missing, expired, or used up.
  if (status === 403) return waitingRoom.refused(data);
  if (status === 409 && data.seat_ids) {
    data.seat_ids.forEach((id) => state.selected.delete(String(id)));
    repaint(data.seat_ids);
    renderActions();
    return `${labelsOf(data.seat_ids)} ${data.seat_ids.length === 1 ? "is" : "are"} no longer available. Pick others.`;
  }
  return data.error ?? `Something went wrong (${status}).`;
}

/**
 * Asks for a hold (of these seats, or of the best ones), and shows it with its countdown.
 * @param {{ seat_ids: string[] } | { best_available: { count: number; category?: string } }} what
 */
async function holdSeats(what) {
  const showId = state.showId;
  const { status, data, version } = await api(
    "POST",
    showPath("/holds"),
    { ...what, user_id: userId() },
    { pass: waitingRoom.pass },
  );
  if (status !== 201) return state.showId === showId ? say(await explain(status, data), true) : undefined;
  const hold = /** @type {NewHold} */ (data);
  // The buyer turned to another show meanwhile: the hold is let go, as leaving a show does.
  if (state.showId !== showId) return releaseHold(hold);
  const ids = hold.seat_ids.map(String);
  for (const id of ids) state.selected.delete(id);
  // The show ended it before its answer came (a seat of it freed by an update after it).
  if (ids.some((id) => freedSince(id, version))) {
    repaint(ids);
    renderActions();
    return say("Your hold ended before its answer reached you: its seats are free again.", true);
  }
  state.hold = hold;
  state.holdIds = new Set(ids);
  for (const id of ids) {
    state.ownSince.set(id, version);
    showOwn(id, version, "held");
  }
  repaint(state.holdIds);
  renderCounts();
  renderActions();
  startCountdown();
  map.reveal([...state.holdIds].flatMap((id) => state.venue?.placeOf.get(id) ?? []));
  say(`Held for you: ${labelsOf(hold.seat_ids)}. Book before the time runs out.`);
}

ui.hold.addEventListener("click", () => {
  // Ids go back as the strings they are; the API reads "10" and 10 as the same seat.
  const seatIds = [...state.selected];
  act(() => holdSeats({ seat_ids: seatIds }), seatIds);
});

ui.best.addEventListener("submit", (event) => {
  event.preventDefault();
  const count = ui.bestCount.valueAsNumber;
  const category = ui.bestCategory.value;
  // The best seats may be ones this page has selected: their live events are its own doing.
  act(() => holdSeats({ best_available: category === "" ? { count } : { count, category } }), [...state.selected]);
});

ui.book.addEventListener("click", () =>
  act(async () => {
    const showId = state.showId;
    const { status, data, version } = await api(
      "POST",
      showPath("/bookings"),
      { seat_ids: [...state.selected], user_id: userId() },
      { pass: waitingRoom.pass },
    );
    // Answers for a show the buyer has turned away from are not drawn on the one they look at.
    if (state.showId !== showId) return;
    if (status !== 200) return say(await explain(status, data), true);
    booked(data.bookings ?? [], version);
  }, [...state.selected]),
);

ui.confirm.addEventListener("click", () =>
  act(async () => {
    const hold = state.hold;
    if (hold === null) return;
    const showId = state.showId;
    const { status, data, version } = await api("POST", `/api/holds/${hold.hold_id}/confirm`, undefined, {
      token: hold.hold_token,
    });
    // The buyer turned to another show meanwhile. (A hold the countdown ended while the answer was
    // on its way is the page's guess, to the second: the show's answer decides.)
    if (state.showId !== showId) return;
    if (status !== 200) return holdRefused(status, data.error ?? "Could not book the held seats.");
    endHold("", false);
    booked(data.bookings ?? [], version);
  }),
);

ui.release.addEventListener("click", () =>
  act(async () => {
    const hold = state.hold;
    if (hold === null) return;
    const { status, data } = await api("DELETE", `/api/holds/${hold.hold_id}`, undefined, { token: hold.hold_token });
    if (status === 200) return endHold("Hold released.", false);
    holdRefused(status, data.error ?? "Could not release the hold.");
  }),
);

/**
 * A confirmation or release of the page's hold that was refused. The hold is gone only when the
 * show says so (404, 409, 410) or that it is not this token's (403); a client limited (429), a show
 * busy (503) or any other failure leaves it where it was, and the buyer may try again.
 * @param {number} status
 * @param {string} error
 */
function holdRefused(status, error) {
  if ([403, 404, 409, 410].includes(status)) return endHold(error, true);
  say(error, true);
}

/**
 * @param {Booking[]} bookings
 * @param {number} version the show's change number once they were made
 */
function booked(bookings, version) {
  const ids = bookings.map((booking) => String(booking.seat_id));
  // Cancelled already: an update after the booking freed the seat before its answer came.
  const gone = ids.filter((id) => freedSince(id, version));
  for (const id of ids) {
    state.selected.delete(id);
    if (gone.includes(id)) continue;
    state.ownSince.set(id, version);
    state.mine.add(id);
    showOwn(id, version, "booked");
  }
  repaint(ids);
  renderCounts();
  renderActions();
  const kept = ids.filter((id) => !gone.includes(id));
  if (gone.length === 0) return say(`Booked: ${labelsOf(ids)}. Enjoy the show!`);
  const cancelled = `${labelsOf(gone)} ${gone.length === 1 ? "was" : "were"} cancelled before the answer reached you`;
  say(kept.length === 0 ? `Your booking of ${cancelled}.` : `Booked: ${labelsOf(kept)}. ${cancelled}.`, true);
}

/**
 * @param {string} text
 * @param {boolean} isError
 */
function endHold(text, isError) {
  const seats = state.holdIds;
  state.hold = null;
  state.holdIds = new Set();
  for (const id of seats) state.ownSince.delete(id);
  repaint(seats);
  renderActions();
  if (text !== "") say(text, isError);
}

/** Counts the hold down once a second; at zero the seats are gone. */
function startCountdown() {
  clearInterval(state.countdown);
  const tick = () => {
    if (!state.hold) return clearInterval(state.countdown);
    // By the server's clock, whose time `expires_at` is.
    const left = Math.max(0, Date.parse(state.hold.expires_at) - serverNow());
    const minutes = Math.floor(left / 60_000);
    const seconds = Math.floor((left % 60_000) / 1000);
    ui.countdown.textContent = `${minutes}:${String(seconds).padStart(2, "0")}`;
    if (left === 0) endHold("Your hold expired and the seats were released.", true);
  };
  tick();
  state.countdown = setInterval(tick, 1000);
}

ui.zoomIn.addEventListener("click", () => map.zoomBy(1.6));
ui.zoomOut.addEventListener("click", () => map.zoomBy(1 / 1.6));
ui.zoomFit.addEventListener("click", () => map.fit());

// ---- Choosing a show --------------------------------------------------------------------

/** The show the page has open; the action buttons exist only once one is. */
function currentShow() {
  if (state.showId === null) throw new Error("Pick a show first.");
  return state.showId;
}

/**
 * Releases the page's hold, if it has one, as the buyer leaves its show (for another, or the
 * page), and drops it, saying `text`: nobody else could book those seats for the rest of its time,
 * and they would count against the address's allowance of held seats.
 * @param {string} text
 */
function leaveHold(text) {
  if (state.hold === null) return;
  releaseHold(state.hold);
  endHold(text, false);
}

/** Lets a hold go, whatever becomes of the page (`keepalive`: the request outlives it). @param {NewHold} hold */
function releaseHold(hold) {
  fetch(`/api/holds/${hold.hold_id}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${hold.hold_token}` },
    keepalive: true,
  }).catch(() => {});
}

// A page kept in the browser's back-forward cache comes back as it was left: without the hold.
addEventListener("pagehide", () => leaveHold("Your hold was released when you left the page."));

/** @param {string} showId */
function openShow(showId) {
  state.showId = showId;
  state.venue = null;
  state.version = 0;
  state.layout = 0;
  state.selected.clear();
  state.mine.clear();
  state.ownSince.clear();
  leaveHold("");
  ui.plan.replaceChildren();
  ui.map.setAttribute("aria-busy", "true");
  ui.seatInfo.textContent = "Loading the seating plan…";
  const url = new URL(location.href);
  url.searchParams.set("show", showId);
  history.replaceState(null, "", url);
  say("");
  renderActions();
  connect();
  waitingRoom.open(showId);
}

/**
 * The show list, asked again until it answers (a service briefly busy, a network that dropped the
 * request), 1 s after the first failure and twice as long after each, up to 30 s.
 * @returns {Promise<Answer>}
 */
async function showList() {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
    const { status, data } = await api("GET", "/api/shows?limit=200").catch(() => ({
      status: 0,
      data: /** @type {Answer} */ ({}),
    }));
    if (status === 200) return data;
    ui.connection.textContent = `The list of shows did not load (${status === 0 ? "no answer" : status}); trying again…`;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

async function start() {
  const shows = (await showList()).shows ?? [];
  if (shows.length === 0) {
    ui.connection.textContent = "No shows yet. Create one with PUT /admin/shows/:show_id.";
    return;
  }
  for (const show of shows) {
    const option = document.createElement("option");
    option.value = String(show.show_id);
    option.dataset.name = show.name;
    option.textContent = `${show.name} (${show.available} of ${show.capacity} free)`;
    ui.show.append(option);
    state.listColors.set(String(show.show_id), new Map(show.categories.map((c) => [c.name, c.color])));
  }
  const wanted = new URL(location.href).searchParams.get("show");
  let missing = false;
  if (wanted && shows.some((show) => String(show.show_id) === wanted)) {
    ui.show.value = wanted;
  } else if (wanted && ID_PATTERN.test(wanted)) {
    // The list is a second or two behind (each show tells the catalog a second after a change, and
    // the list is served from copies): a show created a moment ago is asked for itself. Only a
    // show that answers, or a service too busy or too far to say (429, 5xx, no answer at all: 0),
    // gets the benefit of the doubt.
    const { status, data } = await api("GET", `/api/shows/${encodeURIComponent(wanted)}/statuses`).catch(() => ({
      status: 0,
      data: /** @type {Answer} */ ({}),
    }));
    if (status === 200 || status === 429 || status === 0 || status >= 500) {
      // Named as the show says, when it could say (its statuses carry its name).
      const name = status === 200 && typeof data.name === "string" ? data.name : wanted;
      const option = document.createElement("option");
      option.value = wanted;
      option.dataset.name = name;
      option.textContent = name;
      ui.show.prepend(option);
      ui.show.value = wanted;
    } else {
      missing = true;
    }
  } else if (wanted) {
    // Not an id any show could have (a link's own words, say): never shown as one.
    missing = true;
  }
  ui.show.addEventListener("change", () => openShow(ui.show.value));
  openShow(ui.show.value);
  // Not quoted: a link's text would otherwise be shown as this site's words.
  if (missing) say("The show in the address was not found; here is the first one instead.", true);
}

start();
