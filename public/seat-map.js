// @ts-check
// The drawn seating plan: one SVG with the plan's areas (the stage), zone names, row labels and a
// circle per seat, which zooms and pans through its viewBox (buttons, wheel, drag, pinch) and is
// one keyboard widget with a roving focus. It knows nothing of the API: the page tells it how each
// seat looks (`paint`) and hears which seat was picked (`activate`).

import { areaText, distance, rowSpacing, seatSpacing } from "./venue.js";

/** @typedef {import("./venue.js").Venue} Venue */
/** @typedef {import("./venue.js").PlanArea} PlanArea */
/**
 * How a seat is drawn; "mine" is held or booked by this page.
 * @typedef {"available" | "selected" | "mine" | "held" | "booked" | "blocked"} Look
 */
/** @typedef {{ x: number; y: number; width: number; height: number }} Box */

const SVG_NS = "http://www.w3.org/2000/svg";
/** How far in the map zooms, relative to the whole plan. */
const MAX_ZOOM = 40;
/** Each press of + or − (or the buttons) zooms by this much. */
const ZOOM_STEP = 1.6;
/** A pointer that moves less than this (in CSS pixels) between down and up is a click, not a drag. */
const CLICK_SLOP = 5;
/** Row labels smaller than this on screen are hidden: at that size they are noise, not text. */
const MIN_LABEL_PIXELS = 5.5;

/**
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number>} [attributes]
 * @returns {SVGElementTagNameMap[K]}
 */
function svgElement(tag, attributes = {}) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** @param {number} value */
const round = (value) => Math.round(value * 100) / 100;

/**
 * @param {number} value
 * @param {number} low
 * @param {number} high
 */
const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

/**
 * @typedef {object} SeatMapOptions
 * @property {HTMLElement} frame the focusable element around the SVG: the keyboard widget
 * @property {SVGSVGElement} svg
 * @property {HTMLElement} info where the focused (or pointed at) seat is described; a live region
 * @property {(place: number) => string} describe a seat's label and state, in words; for -1 (no
 *   seat), what the map shows
 * @property {(place: number) => void} activate the seat was clicked, or Enter or Space pressed on it
 */

export class SeatMap {
  /** @type {Venue | null} */
  venue = null;
  /** The seat the keyboard is on (a place), or -1 before the map was first focused. */
  focused = -1;
  #options;
  /** @type {SVGCircleElement[]} by place */
  #circles = [];
  /** @type {Map<Element, number>} */
  #placeOfCircle = new Map();
  /** @type {(Look | undefined)[]} */
  #looks = [];
  #radius = 10;
  #rowLabelSize = 12;
  /** @type {Box} the whole plan */
  #fit = { x: 0, y: 0, width: 1, height: 1 };
  /** @type {Box} what the viewBox shows */
  #view = { x: 0, y: 0, width: 1, height: 1 };
  /** @type {SVGGElement | null} */
  #ring = null;
  /** @type {Map<number, { x: number; y: number }>} pointers that are down, by id */
  #pointers = new Map();
  /** @type {{ x: number; y: number; place: number; dragged: boolean } | null} */
  #press = null;
  #frameRequest = 0;

  /** @param {SeatMapOptions} options */
  constructor(options) {
    this.#options = options;
    this.#listen();
    // How big labels look depends on the map's size on screen as well as on the zoom.
    new ResizeObserver(() => this.venue && this.#show()).observe(options.svg);
  }

  /**
   * Draws a plan, replacing whatever was drawn, and shows all of it.
   * @param {Venue} venue
   * @param {(place: number) => Look} lookOf how each seat looks to begin with
   */
  draw(venue, lookOf) {
    const { svg } = this.#options;
    this.venue = venue;
    this.focused = -1;
    this.#radius = seatSpacing(venue) * 0.4;
    this.#rowLabelSize = Math.min(rowSpacing(venue) * 0.6, this.#radius * 1.7);

    const content = svgElement("g", { class: "plan" });
    const seats = svgElement("g", { class: "seats", "stroke-width": round(this.#radius * 0.3) });
    this.#looks = venue.ids.map((_, place) => lookOf(place));
    // Copies of one circle, each told only what differs: for 20,000 seats this is the quick way.
    const model = svgElement("circle", { r: round(this.#radius) });
    this.#circles = venue.ids.map((id, place) => {
      const circle = /** @type {SVGCircleElement} */ (model.cloneNode());
      circle.setAttribute("cx", String(venue.xs[place]));
      circle.setAttribute("cy", String(venue.ys[place]));
      circle.setAttribute("fill", venue.categories[venue.categoryOf[place] ?? 0]?.color ?? "#777");
      circle.setAttribute("class", `seat ${this.#looks[place]}`);
      circle.dataset.seat = id;
      seats.append(circle);
      return circle;
    });
    this.#placeOfCircle = new Map(this.#circles.map((circle, place) => [circle, place]));
    const areas = this.#areas(venue);
    content.append(areas, seats);
    this.#ring = svgElement("g", { class: "focus-ring" });
    this.#ring.append(svgElement("circle", { class: "halo" }), svgElement("circle", { class: "ring" }));
    svg.replaceChildren(content, this.#ring);
    // Zone names go in the room the areas leave, so they are measured once drawn.
    const areaBoxes = [...areas.children].map((area) => /** @type {SVGGraphicsElement} */ (area).getBBox());
    content.insertBefore(this.#zoneLabels(venue, areaBoxes), seats);
    content.insertBefore(this.#rowLabels(venue), seats);

    // The box of everything drawn, labels included, with a seat's margin.
    const box = content.getBBox();
    const margin = this.#radius * 2;
    this.#fit = {
      x: box.x - margin,
      y: box.y - margin,
      width: Math.max(box.width, 1) + 2 * margin,
      height: Math.max(box.height, 1) + 2 * margin,
    };
    this.#options.frame.style.setProperty("--plan-aspect", `${round(this.#fit.width)} / ${round(this.#fit.height)}`);
    this.#options.frame.setAttribute("aria-label", `Seat map of ${venue.name}: ${venue.ids.length} seats`);
    this.fit();
  }

  /**
   * Changes how one seat is drawn; cheap when nothing changes, so a snapshot may repaint all.
   * @param {number} place
   * @param {Look} look
   */
  paint(place, look) {
    if (this.#looks[place] === look) return;
    this.#looks[place] = look;
    this.#circles[place]?.setAttribute("class", `seat ${look}`);
    if (place === this.focused) this.#describe(place);
  }

  /** Shows the whole plan. */
  fit() {
    this.#view = { ...this.#fit };
    this.#show();
  }

  /**
   * Zooms by `factor` (above 1 is in) around a point of the plan, the middle of the view by default.
   * @param {number} factor
   * @param {{ x: number; y: number }} [around]
   */
  zoomBy(factor, around) {
    const view = this.#view;
    const at = around ?? { x: view.x + view.width / 2, y: view.y + view.height / 2 };
    const zoom = clamp((this.#fit.width / view.width) * factor, 1, MAX_ZOOM);
    const width = this.#fit.width / zoom;
    const shrink = width / view.width;
    this.#view = {
      x: at.x - (at.x - view.x) * shrink,
      y: at.y - (at.y - view.y) * shrink,
      width,
      height: this.#fit.height / zoom,
    };
    this.#show();
  }

  /**
   * Pans so that these seats are in view, zooming out if they do not fit.
   * @param {number[]} places
   */
  reveal(places) {
    const venue = this.venue;
    if (venue === null || places.length === 0) return;
    const xs = places.map((place) => venue.xs[place] ?? 0);
    const ys = places.map((place) => venue.ys[place] ?? 0);
    const margin = this.#radius * 3;
    const box = {
      x: Math.min(...xs) - margin,
      y: Math.min(...ys) - margin,
      width: Math.max(...xs) - Math.min(...xs) + 2 * margin,
      height: Math.max(...ys) - Math.min(...ys) + 2 * margin,
    };
    const view = this.#view;
    const inside =
      box.x >= view.x &&
      box.y >= view.y &&
      box.x + box.width <= view.x + view.width &&
      box.y + box.height <= view.y + view.height;
    if (inside) return;
    if (box.width > view.width || box.height > view.height) this.#view = { ...this.#fit };
    const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    this.#view = {
      ...this.#view,
      x: centre.x - this.#view.width / 2,
      y: centre.y - this.#view.height / 2,
    };
    this.#show();
  }

  /**
   * Moves the keyboard's seat, and says where it is.
   * @param {number} place
   */
  focusSeat(place) {
    const venue = this.venue;
    if (venue === null || place < 0 || place >= venue.ids.length) return;
    this.#moveRing(place);
    this.reveal([place]);
    this.#describe(place);
  }

  /** @param {number} place */
  #moveRing(place) {
    this.focused = place;
    this.#ring?.setAttribute("transform", `translate(${this.venue?.xs[place]} ${this.venue?.ys[place]})`);
  }

  // ---- Drawing the plan ------------------------------------------------------------------

  /** @param {Venue} venue */
  #areas(venue) {
    const group = svgElement("g", { class: "areas" });
    venue.plan.zones.forEach((zone, i) => {
      const origin = venue.zones[i] ?? { x: 0, y: 0 };
      for (const area of zone.areas ?? []) group.append(this.#area(area, origin));
    });
    return group;
  }

  /**
   * One area: a rectangle (position is its top-left), an ellipse or circle (position is its
   * centre), a polygon (points relative to its position) or bare text, with its text in the middle.
   * @param {PlanArea} area
   * @param {{ x: number; y: number }} origin its zone's position
   */
  #area(area, origin) {
    const x = origin.x + area.position.x;
    const y = origin.y + area.position.y;
    const group = svgElement("g", { class: "area" });
    // An area with no colours at all would be invisible: it gets a light grey.
    const uncoloured = area.color === undefined && area.border_color === undefined;
    const paint = { fill: area.color ?? (uncoloured ? "#e4e4e4" : "none"), stroke: area.border_color ?? "none" };
    const shape = area.shape ?? (area.polygon ? "polygon" : area.width !== undefined ? "rectangle" : "circle");
    let centre = { x, y };
    let room = { width: this.#radius * 8, height: this.#radius * 3 };
    if (shape === "rectangle") {
      const width = area.width ?? 0;
      const height = area.height ?? 0;
      group.append(svgElement("rect", { x, y, width, height, ...paint }));
      centre = { x: x + width / 2, y: y + height / 2 };
      room = { width, height };
    } else if (shape === "ellipse" || shape === "circle") {
      const rx = area.radius ?? (area.width ?? 0) / 2;
      const ry = shape === "circle" ? rx : area.radius !== undefined ? rx : (area.height ?? 0) / 2;
      group.append(svgElement("ellipse", { cx: x, cy: y, rx, ry, ...paint }));
      room = { width: rx * 1.4, height: ry * 1.4 };
    } else if (shape === "polygon" && area.polygon && area.polygon.points.length > 0) {
      const points = area.polygon.points;
      group.append(svgElement("polygon", { points: points.map((p) => `${x + p.x},${y + p.y}`).join(" "), ...paint }));
      const xs = points.map((p) => x + p.x);
      const ys = points.map((p) => y + p.y);
      centre = { x: (Math.min(...xs) + Math.max(...xs)) / 2, y: (Math.min(...ys) + Math.max(...ys)) / 2 };
      room = { width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) };
    }
    if (area.rotation) group.setAttribute("transform", `rotate(${area.rotation} ${centre.x} ${centre.y})`);

    const words = areaText(area);
    if (words !== "") {
      const placed = typeof area.text === "object" && area.text.position;
      const at = placed ? { x: x + placed.x, y: y + placed.y } : centre;
      const fitted = Math.min(room.height * 0.45, (room.width / Math.max(words.length, 1)) * 1.5);
      const size = typeof area.text === "object" && area.text.size ? area.text.size : Math.max(fitted, this.#radius);
      const color = (typeof area.text === "object" && area.text.color) || textColorOn(paint.fill);
      const text = svgElement("text", { x: at.x, y: at.y, "font-size": round(size), fill: color, class: "area-text" });
      text.textContent = words;
      group.append(text);
    }
    return group;
  }

  /**
   * Each zone's name above its seats, as big as the room above them allows; a zone whose seats
   * lie around another's (boxes either side of the stalls) gets its name above each of its
   * groups of rows instead.
   * @param {Venue} venue
   * @param {Box[]} areaBoxes where the areas are drawn
   */
  #zoneLabels(venue, areaBoxes) {
    const r = this.#radius;
    const group = svgElement("g", { class: "zone-labels" });
    const largest = Math.max(r * 2.2, (boxOfSeats(venue, 0, venue.ids.length)?.width ?? 0) / 90);
    const zoneBoxes = venue.zones.map((_, zone) => boxOfZone(venue, zone));
    venue.zones.forEach((zone, index) => {
      const box = zoneBoxes[index];
      if (!box) return;
      const spot = { x: box.x + box.width / 2, y: box.y - r * 1.2 };
      const crowded = zoneBoxes.some((other, j) => other && j !== index && contains(other, spot));
      const boxes = crowded ? clustersOf(venue, index, rowSpacing(venue) * 1.5) : [box];
      const obstacles = [
        ...areaBoxes,
        ...zoneBoxes.flatMap((other, j) => (other && j !== index ? [grow(other, r)] : [])),
      ];
      for (const cluster of boxes) {
        const under = withAreasAround(venue, index, cluster);
        const top = under.y - r;
        const wanted = crowded ? Math.min(largest, r * 2.2) : largest;
        const width = zone.name.length * wanted * 0.65;
        const x = under.x + under.width / 2;
        // The lowest thing above the label's place, across its width, caps how tall it may be.
        const ceiling = obstacles
          .filter((o) => o.y + o.height <= top && o.x < x + width / 2 && o.x + o.width > x - width / 2)
          .reduce((lowest, o) => Math.max(lowest, o.y + o.height), -Infinity);
        const size = Math.max(r * 1.2, Math.min(wanted, (top - ceiling) * 0.75));
        const text = svgElement("text", {
          x: round(x),
          y: round(top - size * 0.3),
          "font-size": round(size),
          class: "zone-label",
        });
        text.textContent = zone.name;
        group.append(text);
      }
    });
    return group;
  }

  /**
   * Each row's number just outside its first seat, away from the rest of the row.
   * @param {Venue} venue
   */
  #rowLabels(venue) {
    const group = svgElement("g", { class: "row-labels", "font-size": round(this.#rowLabelSize) });
    for (const row of venue.rows) {
      const first = row.first;
      const x = venue.xs[first] ?? 0;
      const y = venue.ys[first] ?? 0;
      // The way out of the row at its first seat: from the second seat to the first.
      const length = row.end - first > 1 ? distance(venue, first, first + 1) : 0;
      const dx = length > 0 ? (x - (venue.xs[first + 1] ?? 0)) / length : -1;
      const dy = length > 0 ? (y - (venue.ys[first + 1] ?? 0)) / length : 0;
      const away = this.#radius * 1.5;
      const text = svgElement("text", {
        x: round(x + dx * away),
        y: round(y + dy * away),
        "text-anchor": dx < -0.5 ? "end" : dx > 0.5 ? "start" : "middle",
      });
      text.textContent = row.number;
      group.append(text);
    }
    return group;
  }

  // ---- Zooming, panning and the keyboard ----------------------------------------------------

  /** Pixels per plan unit, as the SVG is drawn now. */
  #scale() {
    const { width, height } = this.#options.svg.getBoundingClientRect();
    return Math.min(width / this.#view.width, height / this.#view.height) || 1;
  }

  /** Keeps the view's middle on the plan, then sets the viewBox (once per frame at most). */
  #show() {
    const fit = this.#fit;
    const view = this.#view;
    view.x = clamp(view.x + view.width / 2, fit.x, fit.x + fit.width) - view.width / 2;
    view.y = clamp(view.y + view.height / 2, fit.y, fit.y + fit.height) - view.height / 2;
    const { svg } = this.#options;
    svg.setAttribute("viewBox", `${round(view.x)} ${round(view.y)} ${round(view.width)} ${round(view.height)}`);
    if (this.#frameRequest !== 0) return;
    this.#frameRequest = requestAnimationFrame(() => {
      this.#frameRequest = 0;
      const scale = this.#scale();
      svg.classList.toggle("far", this.#rowLabelSize * scale < MIN_LABEL_PIXELS);
      // The ring stays big enough to see however far out the map is zoomed.
      const ring = Math.max(this.#radius * 1.6, 9 / scale);
      for (const circle of this.#ring?.children ?? []) circle.setAttribute("r", String(round(ring)));
    });
  }

  /**
   * The plan point under a point of the screen.
   * @param {number} clientX
   * @param {number} clientY
   */
  #planPoint(clientX, clientY) {
    const matrix = this.#options.svg.getScreenCTM();
    if (matrix === null) return { x: this.#view.x + this.#view.width / 2, y: this.#view.y + this.#view.height / 2 };
    const point = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
    return { x: point.x, y: point.y };
  }

  /**
   * Pans by a distance on screen.
   * @param {number} dx
   * @param {number} dy
   */
  #panBy(dx, dy) {
    const scale = this.#scale();
    this.#view.x -= dx / scale;
    this.#view.y -= dy / scale;
    this.#show();
  }

  /** @param {EventTarget | null} target */
  #placeOf(target) {
    return target instanceof SVGCircleElement ? (this.#placeOfCircle.get(target) ?? -1) : -1;
  }

  /** @param {number} place */
  #describe(place) {
    this.#options.info.textContent = this.#options.describe(place);
  }

  #listen() {
    const { svg, frame } = this.#options;
    svg.addEventListener(
      "wheel",
      (event) => {
        if (this.venue === null) return;
        const pixels = event.deltaY * (event.deltaMode === WheelEvent.DOM_DELTA_LINE ? 16 : 1);
        const width = this.#view.width;
        this.zoomBy(clamp(Math.exp(-pixels * 0.002), 0.5, 2), this.#planPoint(event.clientX, event.clientY));
        // Past the zoom's limits the wheel scrolls the page, as it would anywhere else.
        if (this.#view.width !== width) event.preventDefault();
      },
      { passive: false },
    );

    svg.addEventListener("pointerdown", (event) => {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      frame.classList.remove("keyboard");
      this.#pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
      this.#press =
        this.#pointers.size === 1
          ? { x: event.clientX, y: event.clientY, place: this.#placeOf(event.target), dragged: false }
          : null;
      svg.setPointerCapture(event.pointerId);
    });

    svg.addEventListener("pointermove", (event) => {
      const before = this.#pointers.get(event.pointerId);
      if (before === undefined) return;
      const now = { x: event.clientX, y: event.clientY };
      if (this.#pointers.size === 1) {
        const press = this.#press;
        if (press && !press.dragged && Math.hypot(now.x - press.x, now.y - press.y) < CLICK_SLOP) return;
        if (press) press.dragged = true;
        svg.classList.add("dragging");
        this.#panBy(now.x - before.x, now.y - before.y);
        this.#pointers.set(event.pointerId, now);
        return;
      }
      // Two fingers: zoom by how much they spread, around their middle, and follow the middle.
      const other = [...this.#pointers].find(([id]) => id !== event.pointerId)?.[1];
      this.#pointers.set(event.pointerId, now);
      if (other === undefined) return;
      const spread =
        Math.hypot(now.x - other.x, now.y - other.y) / (Math.hypot(before.x - other.x, before.y - other.y) || 1);
      const middle = { x: (now.x + other.x) / 2, y: (now.y + other.y) / 2 };
      this.#panBy((now.x - before.x) / 2, (now.y - before.y) / 2);
      this.zoomBy(spread, this.#planPoint(middle.x, middle.y));
    });

    /** @param {PointerEvent} event */
    const release = (event) => {
      if (!this.#pointers.delete(event.pointerId)) return;
      const press = this.#press;
      if (this.#pointers.size > 0) return;
      this.#press = null;
      svg.classList.remove("dragging");
      if (event.type !== "pointerup" || press === null || press.dragged || press.place < 0) return;
      // The keyboard carries on from the seat last clicked.
      this.#moveRing(press.place);
      this.#options.activate(press.place);
    };
    svg.addEventListener("pointerup", release);
    svg.addEventListener("pointercancel", release);

    // Pointing at a seat says what it is; leaving the map goes back to the keyboard's seat.
    svg.addEventListener("pointerover", (event) => {
      const place = this.#placeOf(event.target);
      if (place >= 0 && this.#pointers.size === 0) this.#describe(place);
    });
    svg.addEventListener("pointerleave", () => this.#describe(this.focused));

    // Tabbing in lands on the last seat the keyboard was on, or the first available one. (A click
    // focuses the map too, but must not move it.)
    frame.addEventListener("focus", () => {
      if (this.venue === null || !frame.matches(":focus-visible")) return;
      frame.classList.add("keyboard");
      this.focusSeat(this.focused >= 0 ? this.focused : this.#firstAvailable());
    });
    frame.addEventListener("keydown", (event) => this.#key(event));
  }

  #firstAvailable() {
    const place = this.#looks.findIndex((look) => look === "available");
    return place >= 0 ? place : 0;
  }

  /** @param {KeyboardEvent} event */
  #key(event) {
    const venue = this.venue;
    if (venue === null || event.altKey || event.metaKey) return;
    const place = this.focused >= 0 ? this.focused : this.#firstAvailable();
    const rowIndex = venue.rowOf[place] ?? 0;
    const row = venue.rows[rowIndex];
    if (row === undefined) return;
    /** @type {number | null} where the keyboard goes; null when the key does not move it */
    let to = null;
    switch (event.key) {
      case "ArrowLeft":
        to = Math.max(row.first, place - 1);
        break;
      case "ArrowRight":
        to = Math.min(row.end - 1, place + 1);
        break;
      case "ArrowUp":
        to = this.#nearestIn(rowIndex - 1, place);
        break;
      case "ArrowDown":
        to = this.#nearestIn(rowIndex + 1, place);
        break;
      case "PageUp":
        to = this.#nearestIn(this.#zoneStart(rowIndex, -1), place);
        break;
      case "PageDown":
        to = this.#nearestIn(this.#zoneStart(rowIndex, 1), place);
        break;
      case "Home":
        to = event.ctrlKey ? 0 : row.first;
        break;
      case "End":
        to = event.ctrlKey ? venue.ids.length - 1 : row.end - 1;
        break;
      case "Enter":
      case " ":
        this.focusSeat(place);
        this.#options.activate(place);
        break;
      case "+":
      case "=":
        this.focusSeat(place);
        this.zoomBy(ZOOM_STEP, { x: venue.xs[place] ?? 0, y: venue.ys[place] ?? 0 });
        break;
      case "-":
      case "_":
        this.zoomBy(1 / ZOOM_STEP, { x: venue.xs[place] ?? 0, y: venue.ys[place] ?? 0 });
        break;
      case "0":
        this.fit();
        break;
      default:
        return;
    }
    event.preventDefault();
    this.#options.frame.classList.add("keyboard");
    if (to !== null) this.focusSeat(to);
  }

  /**
   * The seat of row `rowIndex` nearest across to seat `place`, or `place` itself past the ends.
   * @param {number} rowIndex
   * @param {number} place
   */
  #nearestIn(rowIndex, place) {
    const venue = /** @type {Venue} */ (this.venue);
    const row = venue.rows[rowIndex];
    if (row === undefined) return place;
    const x = venue.xs[place] ?? 0;
    let best = row.first;
    for (let seat = row.first + 1; seat < row.end; seat++) {
      if (Math.abs((venue.xs[seat] ?? 0) - x) < Math.abs((venue.xs[best] ?? 0) - x)) best = seat;
    }
    return best;
  }

  /**
   * The first row of the zone before (-1) or after (1) the zone of row `rowIndex`.
   * @param {number} rowIndex
   * @param {-1 | 1} direction
   */
  #zoneStart(rowIndex, direction) {
    const rows = /** @type {Venue} */ (this.venue).rows;
    const zone = rows[rowIndex]?.zone;
    let index = rowIndex;
    while (rows[index] !== undefined && rows[index]?.zone === zone) index += direction;
    if (direction === -1) {
      // Back to the first row of that earlier zone.
      const earlier = rows[index]?.zone;
      while (rows[index - 1] !== undefined && rows[index - 1]?.zone === earlier) index--;
    }
    return rows[index] === undefined ? rowIndex : index;
  }
}

// ---- Geometry ------------------------------------------------------------------------------

/**
 * The box around the centres of seats `first` up to `end`, or null when there are none.
 * @param {Venue} venue
 * @param {number} first
 * @param {number} end
 * @returns {Box | null}
 */
function boxOfSeats(venue, first, end) {
  if (end <= first) return null;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let place = first; place < end; place++) {
    minX = Math.min(minX, venue.xs[place] ?? 0);
    maxX = Math.max(maxX, venue.xs[place] ?? 0);
    minY = Math.min(minY, venue.ys[place] ?? 0);
    maxY = Math.max(maxY, venue.ys[place] ?? 0);
  }
  return { x: minX, y: minY, width: maxX - minX, height: maxY - minY };
}

/**
 * @param {Venue} venue
 * @param {number} zone
 */
function boxOfZone(venue, zone) {
  const rows = venue.rows.filter((row) => row.zone === zone);
  const first = rows[0];
  const last = rows[rows.length - 1];
  return first && last ? boxOfSeats(venue, first.first, last.end) : null;
}

/**
 * The zone's rows in groups: rows whose boxes come within `gap` of each other are one group.
 * @param {Venue} venue
 * @param {number} zone
 * @param {number} gap
 * @returns {Box[]}
 */
function clustersOf(venue, zone, gap) {
  /** @type {Box[]} */
  const clusters = [];
  for (const row of venue.rows) {
    if (row.zone !== zone) continue;
    let box = /** @type {Box} */ (boxOfSeats(venue, row.first, row.end));
    for (let i = clusters.length - 1; i >= 0; i--) {
      const cluster = /** @type {Box} */ (clusters[i]);
      if (!overlaps(grow(cluster, gap), box)) continue;
      box = union(cluster, box);
      clusters.splice(i, 1);
    }
    clusters.push(box);
  }
  return clusters;
}

/**
 * A group of seats with the zone's areas it sits in (a box's walls), so a name goes above both.
 * @param {Venue} venue
 * @param {number} zone
 * @param {Box} box
 */
function withAreasAround(venue, zone, box) {
  const origin = venue.zones[zone] ?? { x: 0, y: 0 };
  let result = box;
  for (const area of venue.plan.zones[zone]?.areas ?? []) {
    if ((area.shape ?? "rectangle") !== "rectangle" || area.width === undefined || area.height === undefined) continue;
    const rect = {
      x: origin.x + area.position.x,
      y: origin.y + area.position.y,
      width: area.width,
      height: area.height,
    };
    if (overlaps(rect, box) && !/\bstages?\b/i.test(areaText(area))) result = union(result, rect);
  }
  return result;
}

/**
 * @param {Box} box
 * @param {{ x: number; y: number }} point
 */
const contains = (box, point) =>
  point.x >= box.x && point.x <= box.x + box.width && point.y >= box.y && point.y <= box.y + box.height;

/**
 * @param {Box} a
 * @param {Box} b
 */
const overlaps = (a, b) =>
  a.x <= b.x + b.width && b.x <= a.x + a.width && a.y <= b.y + b.height && b.y <= a.y + a.height;

/**
 * @param {Box} box
 * @param {number} by
 */
const grow = (box, by) => ({ x: box.x - by, y: box.y - by, width: box.width + 2 * by, height: box.height + 2 * by });

/**
 * @param {Box} a
 * @param {Box} b
 */
function union(a, b) {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return {
    x,
    y,
    width: Math.max(a.x + a.width, b.x + b.width) - x,
    height: Math.max(a.y + a.height, b.y + b.height) - y,
  };
}

/**
 * Dark text on light fills, white on dark ones; colours are `#rgb`, `#rrggbb(aa)` or a name.
 * @param {string} fill
 */
function textColorOn(fill) {
  const hex = /^#([0-9a-f]{3,8})$/i.exec(fill)?.[1];
  if (hex === undefined) return fill === "none" ? "#333" : "#1c1c1c";
  const full = hex.length < 6 ? [...hex.slice(0, 3)].map((c) => c + c).join("") : hex.slice(0, 6);
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16) / 255);
  const luminance = 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
  return luminance < 0.5 ? "#fff" : "#1c1c1c";
}
