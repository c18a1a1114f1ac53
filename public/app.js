// @ts-check
// The seat map page: pick a show, watch its seats live, hold or book them.
// Talks only to this Worker's own API; nothing is loaded from anywhere else. Typed with JSDoc
// against the server's own message and answer types, and checked by `npm run typecheck`.

import { ID_PATTERN } from "./ids.js";
import { STATUS_OF_CODE } from "./protocol.js";

/** @typedef {import("../src/live/protocol").ServerMessage} ServerMessage */
/** @typedef {import("../src/live/protocol").SeatEvent} SeatEvent */
/** @typedef {import("../src/show/types").SeatStatus} SeatStatus */
/** @typedef {import("../src/ids").PublicId} PublicId */
/** @typedef {import("zod").output<typeof import("../src/contract/answers").NewHold>} NewHold */
/** @typedef {import("zod").output<typeof import("../src/contract/answers").Booking>} Booking */
/** @typedef {import("zod").output<typeof import("../src/contract/answers").ShowList>} ShowList */
/**
 * Every answer the page reads, success or error, as one loose shape: which fields are there
 * depends on the status, which the callers check first.
 * @typedef {Partial<NewHold> & { error?: string; seat_ids?: PublicId[]; bookings?: Booking[] } & Partial<ShowList>} Answer
 */

/** @type {Record<SeatStatus, string>} */
const STATUS_WORDS = { available: "available", held: "held", booked: "booked", blocked: "blocked" };

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
  seats: $("seats"),
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
};

/**
 * Everything the page knows about the show it shows. Seat ids are kept as the strings the
 * server's ids are (never turned into numbers: `"99999999999999999999"` is no JSON number).
 */
const state = {
  /** @type {string | null} */
  showId: null,
  /** @type {Map<string, SeatStatus>} seat id -> status from the server */
  seats: new Map(),
  /** @type {string[]} the order seats were laid out in, as the server sent them */
  order: [],
  version: 0,
  layout: 0,
  /** @type {Set<string>} */
  selected: new Set(),
  /** @type {Set<string>} seats this page booked, so they can be shown as "yours" */
  mine: new Set(),
  /** @type {NewHold | null} this page's live hold */
  hold: null,
  /** @type {WebSocket | null} */
  socket: null,
  reconnectDelay: 500,
  /** @type {ReturnType<typeof setInterval> | undefined} the hold countdown's interval */
  countdown: undefined,
  /** @type {Set<string>} seats in a request this page has in flight: their live events are this page's own doing */
  pending: new Set(),
  /** a request is in flight; the action buttons wait for it */
  busy: false,
};

// ---- Talking to the API -----------------------------------------------------------------

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @param {string} [token]
 * @returns {Promise<{ status: number; data: Answer }>}
 */
async function api(method, path, body, token) {
  /** @type {Record<string, string>} */
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json().catch(() => ({ error: "The server sent an unreadable answer" }));
  return { status: response.status, data };
}

function userId() {
  const name = ui.name.value.trim();
  if (name === "") return null;
  if (!ID_PATTERN.test(name)) throw new Error("Your name may use letters, digits, _ and - only (up to 64).");
  return name;
}

/** @param {PublicId[]} ids */
const seatLabel = (ids) => (ids.length === 1 ? `Seat ${ids[0]}` : `Seats ${ids.join(", ")}`);

// ---- Live updates -----------------------------------------------------------------------

function connect() {
  if (state.socket) state.socket.close();
  const protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const resume = state.version > 0 ? `?since=${state.version}&layout=${state.layout}` : "";
  const socket = new WebSocket(
    `${protocol}//${location.host}/api/shows/${encodeURIComponent(currentShow())}/live${resume}`,
  );
  state.socket = socket;
  ui.connection.textContent = "Connecting…";
  ui.connection.classList.remove("live");

  socket.addEventListener("open", () => {
    state.reconnectDelay = 500;
    ui.connection.textContent = "Live";
    ui.connection.classList.add("live");
  });
  socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
  socket.addEventListener("close", () => {
    if (state.socket !== socket) return;
    ui.connection.textContent = "Reconnecting…";
    ui.connection.classList.remove("live");
    setTimeout(() => state.socket === socket && connect(), state.reconnectDelay);
    state.reconnectDelay = Math.min(state.reconnectDelay * 2, 10_000);
  });
}

/** @param {ServerMessage} message */
function receive(message) {
  handle(message);
  renderShowOption();
}

/** @param {ServerMessage} message */
function handle(message) {
  switch (message.type) {
    case "layout":
      // The seats, in order; their statuses follow in the snapshot.
      state.layout = message.layout;
      state.order = message.seats.map(String);
      break;
    case "snapshot": {
      if (message.layout !== state.layout) break;
      state.version = message.version;
      const codes = message.statuses;
      state.seats = new Map(state.order.map((id, place) => [id, STATUS_OF_CODE[codes[place] ?? "a"] ?? "available"]));
      for (const id of [...state.selected]) if (state.seats.get(id) !== "available") state.selected.delete(id);
      renderSeats();
      break;
    }
    case "changes":
      if (message.layout !== state.layout || message.since > state.version) {
        // Some changes, or a new layout, never reached this page: ask for them rather than guess.
        state.socket?.send(JSON.stringify({ type: "resync", since: state.version, layout: state.layout }));
        break;
      }
      message.changes.filter((change) => change.version > state.version).forEach(applyChange);
      state.version = Math.max(state.version, message.version);
      break;
    case "error":
      console.warn("live seat map:", message.error);
      break;
  }
}

/** @param {SeatEvent} change */
function applyChange(change) {
  const id = String(change.seat_id);
  state.version = Math.max(state.version, change.version);
  state.seats.set(id, change.status);
  if (change.status !== "available" && state.selected.delete(id) && !state.pending.has(id)) {
    say(`Seat ${id} was just taken by someone else.`, true);
  }
  if (change.status === "available") state.mine.delete(id);
  renderSeat(id);
  renderActions();
}

// ---- Drawing ----------------------------------------------------------------------------

/**
 * Rows by a seat id's letters ("A12" is in row A); plain numbers in rows of 10 or 20.
 * @param {string[]} ids
 */
function rowsOf(ids) {
  const lettered = ids.every((id) => /^[A-Za-z]+\d+$/.test(id));
  /** @type {Map<string, string[]>} */
  const rows = new Map();
  ids.forEach((id, index) => {
    const row = lettered ? id.replace(/\d+$/, "") : `Row ${Math.floor(index / (ids.length > 120 ? 20 : 10)) + 1}`;
    const seats = rows.get(row) ?? [];
    seats.push(id);
    rows.set(row, seats);
  });
  return rows;
}

function renderSeats() {
  ui.seats.replaceChildren();
  for (const [row, ids] of rowsOf(state.order)) {
    const line = document.createElement("div");
    line.className = "row";
    line.setAttribute("role", "group");
    line.setAttribute("aria-label", row.startsWith("Row") ? row : `Row ${row}`);
    const label = document.createElement("span");
    label.className = "row-label";
    label.setAttribute("aria-hidden", "true");
    label.textContent = row.replace("Row ", "");
    line.append(label);
    for (const id of ids) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.seat = id;
      button.textContent = id;
      button.addEventListener("click", () => toggle(id));
      line.append(button);
    }
    ui.seats.append(line);
  }
  state.order.forEach(renderSeat);
  renderActions();
}

/** @param {string} id */
function renderSeat(id) {
  const button = ui.seats.querySelector(`[data-seat="${CSS.escape(id)}"]`);
  if (!button) return;
  const status = state.seats.get(id) ?? "available";
  const mine = state.mine.has(id) || (status === "held" && state.hold?.seat_ids.map(String).includes(id));
  const selected = state.selected.has(id);
  button.className = `seat ${mine ? "mine" : status}`;
  button.setAttribute("aria-pressed", String(selected));
  button.setAttribute("aria-disabled", String(status !== "available"));
  const words = mine ? `${STATUS_WORDS[status]} by you` : STATUS_WORDS[status];
  button.setAttribute("aria-label", `Seat ${id}, ${selected ? "selected" : words}`);
}

function renderActions() {
  const ids = [...state.selected];
  ui.selection.textContent =
    ids.length === 0 ? "No seats selected. Click available seats to pick them." : `Selected: ${ids.join(", ")}`;
  ui.hold.disabled = state.busy || ids.length === 0 || state.hold !== null;
  ui.book.disabled = state.busy || ids.length === 0;
  ui.confirm.disabled = state.busy;
  ui.release.disabled = state.busy;
  ui.yourHold.hidden = state.hold === null;
  if (state.hold) ui.holdSeats.textContent = seatLabel(state.hold.seat_ids);
}

/** Keeps the show list's "N of M free" current as seats change. */
function renderShowOption() {
  const option = ui.show.selectedOptions[0];
  if (!option) return;
  const free = [...state.seats.values()].filter((status) => status === "available").length;
  option.textContent = `${option.dataset.name} (${free} of ${state.seats.size} free)`;
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

/** @param {string} id */
function toggle(id) {
  if (state.seats.get(id) !== "available") {
    say(`Seat ${id} is ${state.seats.get(id)}.`, true);
    return;
  }
  if (!state.selected.delete(id)) state.selected.add(id);
  renderSeat(id);
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
 */
function explain(status, data) {
  if (status === 409 && data.seat_ids) {
    data.seat_ids.forEach((id) => state.selected.delete(String(id)));
    state.order.forEach(renderSeat);
    renderActions();
    return `${seatLabel(data.seat_ids)} ${data.seat_ids.length === 1 ? "is" : "are"} no longer available. Pick others.`;
  }
  return data.error ?? `Something went wrong (${status}).`;
}

ui.hold.addEventListener("click", () =>
  act(async () => {
    // Ids go back as the strings they are; the API reads "10" and 10 as the same seat.
    const { status, data } = await api("POST", `/api/shows/${encodeURIComponent(currentShow())}/holds`, {
      seat_ids: [...state.selected],
      user_id: userId(),
    });
    if (status !== 201) return say(explain(status, data), true);
    state.hold = /** @type {NewHold} */ (data);
    // The server has said so; its live batch, a moment later, will only confirm it.
    for (const id of state.hold.seat_ids) state.seats.set(String(id), "held");
    state.selected.clear();
    state.order.forEach(renderSeat);
    renderActions();
    startCountdown();
    say(`${seatLabel(state.hold.seat_ids)} held for you. Book them before the time runs out.`);
  }, [...state.selected]),
);

ui.book.addEventListener("click", () =>
  act(async () => {
    const { status, data } = await api("POST", `/api/shows/${encodeURIComponent(currentShow())}/bookings`, {
      seat_ids: [...state.selected],
      user_id: userId(),
    });
    if (status !== 200) return say(explain(status, data), true);
    booked(data.bookings ?? []);
  }, [...state.selected]),
);

ui.confirm.addEventListener("click", () =>
  act(async () => {
    const hold = state.hold;
    if (hold === null) return;
    const { status, data } = await api("POST", `/api/holds/${hold.hold_id}/confirm`, undefined, hold.hold_token);
    if (status !== 200) return endHold(data.error ?? "Could not book the held seats.", true);
    state.hold = null;
    booked(data.bookings ?? []);
  }),
);

ui.release.addEventListener("click", () =>
  act(async () => {
    const hold = state.hold;
    if (hold === null) return;
    const { status, data } = await api("DELETE", `/api/holds/${hold.hold_id}`, undefined, hold.hold_token);
    endHold(status === 200 ? "Hold released." : (data.error ?? "Could not release the hold."), status !== 200);
  }),
);

/** @param {Booking[]} bookings */
function booked(bookings) {
  for (const booking of bookings) {
    state.selected.delete(String(booking.seat_id));
    state.mine.add(String(booking.seat_id));
    state.seats.set(String(booking.seat_id), "booked");
  }
  state.order.forEach(renderSeat);
  renderActions();
  say(`Booked: ${bookings.map((b) => b.seat_id).join(", ")}. Enjoy the show!`);
}

/**
 * @param {string} text
 * @param {boolean} isError
 */
function endHold(text, isError) {
  state.hold = null;
  state.order.forEach(renderSeat);
  renderActions();
  say(text, isError);
}

/** Counts the hold down once a second; at zero the seats are gone. */
function startCountdown() {
  clearInterval(state.countdown);
  const tick = () => {
    if (!state.hold) return clearInterval(state.countdown);
    const left = Math.max(0, Date.parse(state.hold.expires_at) - Date.now());
    const minutes = Math.floor(left / 60_000);
    const seconds = Math.floor((left % 60_000) / 1000);
    ui.countdown.textContent = `${minutes}:${String(seconds).padStart(2, "0")}`;
    if (left === 0) endHold("Your hold expired and the seats were released.", true);
  };
  tick();
  state.countdown = setInterval(tick, 1000);
}

// ---- Choosing a show --------------------------------------------------------------------

/** The show the page has open; the action buttons exist only once one is. */
function currentShow() {
  if (state.showId === null) throw new Error("Pick a show first.");
  return state.showId;
}

/** @param {string} showId */
function openShow(showId) {
  state.showId = showId;
  state.version = 0;
  state.layout = 0;
  state.selected.clear();
  state.mine.clear();
  state.hold = null;
  const url = new URL(location.href);
  url.searchParams.set("show", showId);
  history.replaceState(null, "", url);
  say("");
  connect();
}

async function start() {
  const { status, data } = await api("GET", "/api/shows?limit=200");
  const shows = status === 200 ? (data.shows ?? []) : [];
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
  }
  const wanted = new URL(location.href).searchParams.get("show");
  if (wanted && shows.some((show) => String(show.show_id) === wanted)) ui.show.value = wanted;
  ui.show.addEventListener("change", () => openShow(ui.show.value));
  openShow(ui.show.value);
}

start();
