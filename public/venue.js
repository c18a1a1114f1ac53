// @ts-check
// A show's seating plan (pretix's format, as GET /api/shows/:show_id/plan sends it) flattened for
// the page: every seat by its place in plan order (zones, then rows, then seats along each row),
// which is also its character in the live feed's statuses and the `place` of its changes.

/** @typedef {import("../src/contract/plan").Plan} Plan */
/** @typedef {import("../src/contract/plan").PlanArea} PlanArea */

/**
 * One row of seats: its zone, its number, and the places of its seats (`first` up to, not
 * including, `end`).
 * @typedef {{ zone: number; number: string; first: number; end: number }} VenueRow
 */

/**
 * A plan flattened. Every array is indexed by place; seat ids stay the strings the plan has.
 * @typedef {object} Venue
 * @property {string} name
 * @property {string[]} ids
 * @property {Map<string, number>} placeOf seat id -> place
 * @property {string[]} numbers each seat's seat_number
 * @property {Float64Array} xs each seat's absolute x (zone + row + seat)
 * @property {Float64Array} ys each seat's absolute y; y grows downwards
 * @property {Uint16Array} categoryOf each seat's index in `categories`
 * @property {Int32Array} rowOf each seat's index in `rows`
 * @property {VenueRow[]} rows rows with at least one seat, in plan order
 * @property {{ name: string; x: number; y: number }[]} zones names (never empty) and positions
 * @property {{ name: string; color: string }[]} categories
 * @property {Plan} plan
 */

/** Colours for categories the plan gives none, when the show list has none either. */
const FALLBACK_COLORS = ["#2f6fb3", "#b3572f", "#3f8f4f", "#8a4fb3", "#b39a2f", "#2fa3a3"];

/**
 * @param {Plan} plan
 * @param {Map<string, string>} [knownColors] category colours the server gave elsewhere (the show
 *   list), for categories the plan itself leaves uncoloured
 * @returns {Venue}
 */
export function venueOf(plan, knownColors = new Map()) {
  const categories = plan.categories.map((category, i) => ({
    name: category.name,
    color: category.color ?? knownColors.get(category.name) ?? FALLBACK_COLORS[i % FALLBACK_COLORS.length] ?? "#777",
  }));
  const categoryIndex = new Map(categories.map((category, i) => [category.name, i]));
  const count = plan.zones.reduce((sum, zone) => sum + zone.rows.reduce((n, row) => n + row.seats.length, 0), 0);
  /** @type {Venue} */
  const venue = {
    name: plan.name,
    ids: [],
    placeOf: new Map(),
    numbers: [],
    xs: new Float64Array(count),
    ys: new Float64Array(count),
    categoryOf: new Uint16Array(count),
    rowOf: new Int32Array(count),
    rows: [],
    zones: plan.zones.map((zone, i) => ({ name: zone.name?.trim() || `Zone ${i + 1}`, ...zone.position })),
    categories,
    plan,
  };
  plan.zones.forEach((zone, zoneIndex) => {
    for (const row of zone.rows) {
      if (row.seats.length === 0) continue;
      const rowX = zone.position.x + (row.position?.x ?? 0);
      const rowY = zone.position.y + (row.position?.y ?? 0);
      const first = venue.ids.length;
      for (const seat of row.seats) {
        const place = venue.ids.length;
        venue.ids.push(seat.seat_guid);
        venue.placeOf.set(seat.seat_guid, place);
        venue.numbers.push(seat.seat_number);
        venue.xs[place] = rowX + seat.position.x;
        venue.ys[place] = rowY + seat.position.y;
        venue.categoryOf[place] = categoryIndex.get(seat.category) ?? 0;
        venue.rowOf[place] = venue.rows.length;
      }
      venue.rows.push({ zone: zoneIndex, number: row.row_number, first, end: venue.ids.length });
    }
  });
  return venue;
}

/**
 * A seat as buyers read it, the way the API labels held seats: "Stalls, row C, seat 12".
 * @param {Venue} venue
 * @param {number} place
 */
export function seatLabel(venue, place) {
  const row = venue.rows[venue.rowOf[place] ?? 0];
  const zone = venue.zones[row?.zone ?? 0];
  return `${zone?.name}, row ${row?.number}, seat ${venue.numbers[place]}`;
}

/**
 * Several seats in few words, seats of one row together, in the order given:
 * "Stalls, row C, seats 11, 12 and 13; Circle, row A, seat 2". Ids the plan does not have are
 * named as they are.
 * @param {Venue} venue
 * @param {string[]} ids
 */
export function seatsInWords(venue, ids) {
  /** @type {Map<string, string[]>} "Stalls, row C" -> seat numbers */
  const rows = new Map();
  for (const id of ids) {
    const place = venue.placeOf.get(id);
    const row = place === undefined ? undefined : venue.rows[venue.rowOf[place] ?? 0];
    const where = row === undefined ? `Seat ${id}` : `${venue.zones[row.zone]?.name}, row ${row.number}`;
    const numbers = rows.get(where) ?? [];
    if (place !== undefined) numbers.push(venue.numbers[place] ?? "");
    rows.set(where, numbers);
  }
  return [...rows]
    .map(([where, numbers]) => {
      if (numbers.length === 0) return where;
      if (numbers.length === 1) return `${where}, seat ${numbers[0]}`;
      return `${where}, seats ${numbers.slice(0, -1).join(", ")} and ${numbers.at(-1)}`;
    })
    .join("; ");
}

/**
 * An area's text, whichever of pretix's two forms it has.
 * @param {PlanArea} area
 */
export function areaText(area) {
  return typeof area.text === "string" ? area.text : (area.text?.text ?? "");
}

/**
 * The usual distance between neighbouring seats in a row (the median), which sets how big seats
 * and labels are drawn: plans say where seats are, not how big.
 * @param {Venue} venue
 */
export function seatSpacing(venue) {
  /** @type {number[]} */
  const gaps = [];
  for (const row of venue.rows) {
    for (let place = row.first + 1; place < row.end; place++) {
      const gap = distance(venue, place - 1, place);
      if (gap > 0) gaps.push(gap);
    }
  }
  if (gaps.length === 0) return 24;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? 24;
}

/**
 * How far apart two seats are.
 * @param {Venue} venue
 * @param {number} a a place
 * @param {number} b a place
 */
export function distance(venue, a, b) {
  return Math.hypot((venue.xs[a] ?? 0) - (venue.xs[b] ?? 0), (venue.ys[a] ?? 0) - (venue.ys[b] ?? 0));
}

/**
 * The usual distance between consecutive rows of a zone (the median of their first seats' y
 * distance), for the size of row labels.
 * @param {Venue} venue
 */
export function rowSpacing(venue) {
  /** @type {number[]} */
  const gaps = [];
  venue.rows.forEach((row, i) => {
    const previous = venue.rows[i - 1];
    if (previous?.zone !== row.zone) return;
    const gap = Math.abs((venue.ys[row.first] ?? 0) - (venue.ys[previous.first] ?? 0));
    if (gap > 0) gaps.push(gap);
  });
  if (gaps.length === 0) return seatSpacing(venue) * 1.25;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? 30;
}
