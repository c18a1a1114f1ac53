import type { Plan, PlanArea } from "../contract/plan";
import type { Id } from "../ids";

/**
 * A show's layout as the object stores it, derived from a seating plan: every seat in plan order
 * (zones, then rows, then seats along each row) with its label parts, category and place, and
 * the run of adjacent seats it belongs to. The plan itself is kept for drawing.
 */
export interface VenueLayout {
  plan: Plan;
  seats: PlacedSeat[];
  categories: { name: string; color: string }[];
  /** Where the best seats are: the stage's centre, or the front centre of a plan without one. */
  focal: { x: number; y: number };
}

export interface PlacedSeat {
  id: Id;
  zone: string;
  row: string;
  number: string;
  category: string;
  /** The seat's place on the plan: its zone's, row's and own positions added up. */
  x: number;
  y: number;
  /**
   * Seats next to each other in one row, with no aisle between them, share a run number; best
   * available picks blocks within one run. Runs are numbered from 0 in plan order.
   */
  run: number;
}

/** Colours given to categories that have none, in order. */
const PALETTE = ["#2f6fb3", "#b3572f", "#3f8f4f", "#8a4fb3", "#b39a2f", "#2fa3a3"];

/**
 * A gap between two seats of a row more than this many times the row's closest spacing is an
 * aisle: the seats either side are not next to each other. Measured from the closest pair (not a
 * median), so a row of unevenly spaced seats is split wherever a gap is wide, never joined across
 * one. A row of two seats is measured against the plan's usual spacing.
 */
export const AISLE_FACTOR = 1.5;

/** The layout of a plan the contract has validated (distinct guids, known categories). */
export function layoutFromPlan(plan: Plan): VenueLayout {
  const named = new Set(plan.zones.flatMap((zone) => (zone.name?.trim() ? [zone.name.trim()] : [])));
  const zones = plan.zones.map((zone, i) => ({ ...zone, name: zone.name?.trim() || unusedZoneName(i + 1, named) }));
  // Every category gets a colour, so that the plan and the counts agree on it.
  const categories = plan.categories.map((category, i) => ({
    name: category.name,
    color: category.color ?? PALETTE[i % PALETTE.length]!,
  }));
  // The name first, whatever order the plan came in: a show tells a plan renamed from another by
  // what follows its name (see `Seating.apply`).
  const { name, ...rest } = plan;
  const normalized: Plan = { name, ...rest, categories, zones };
  const seats: PlacedSeat[] = [];
  const rows = zones.flatMap((zone) =>
    zone.rows.map((row) => {
      const rowX = zone.position.x + (row.position?.x ?? 0);
      const rowY = zone.position.y + (row.position?.y ?? 0);
      const places = row.seats.map((seat) => ({ x: rowX + seat.position.x, y: rowY + seat.position.y }));
      const gaps = gapsOf(places);
      return { zone, row, places, gaps, spacing: spacingOf(places, gaps) };
    }),
  );
  // (A row whose seats are all drawn at one place has no spacing, and seats at one place set none.)
  const closests = rows.flatMap(({ gaps, spacing }) => (gaps.length >= 2 && spacing < Infinity ? [spacing] : []));
  // In a plan with no row of three seats or more, the rows of two set the usual spacing themselves.
  const usual = median(closests.length > 0 ? closests : rows.flatMap(({ gaps }) => gaps.filter((gap) => gap > 0)));
  let run = 0;
  for (const { zone, row, places, gaps, spacing } of rows) {
    const closest = gaps.length >= 2 ? spacing : usual;
    row.seats.forEach((seat, i) => {
      if (i > 0 && closest !== undefined && gaps[i - 1]! > closest * AISLE_FACTOR) run++;
      const { x, y } = places[i]!;
      const { seat_guid: id, seat_number: number, category } = seat;
      seats.push({ id, zone: zone.name, row: row.row_number, number, category, x, y, run });
    });
    if (row.seats.length > 0) run++;
  }
  return { plan: normalized, seats, categories, focal: stageCentre(normalized) ?? frontCentre(seats) };
}

/** The distance between each two consecutive seats of a row, in the order the plan lists them. */
function gapsOf(places: { x: number; y: number }[]): number[] {
  return places.slice(1).map((place, i) => Math.hypot(place.x - places[i]!.x, place.y - places[i]!.y));
}

/**
 * A row's closest spacing: the least distance between two of its seats next to each other, as the
 * plan lists them or in place (sorted by x, then y: along a straight or gently curved row). From
 * the listing alone, a row listed odd seats first, then even, would have no gap of less than two
 * seats, and its seats that skip one would count as neighbours. Seats drawn at one place (a seat
 * drawn twice) say nothing of the spacing: a gap of 0 taken for it would make every other gap of
 * the row an aisle. Infinity when no two seats are apart.
 */
function spacingOf(places: { x: number; y: number }[], gaps: number[]): number {
  const sorted = [...places].sort((a, b) => a.x - b.x || a.y - b.y);
  return [...gaps, ...gapsOf(sorted)].reduce((least, gap) => (gap > 0 ? Math.min(least, gap) : least), Infinity);
}

function median(values: number[]): number | undefined {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The stage's name in an area's text, as a word: "Main stage", "STAGE", not "Backstage". */
const STAGE = /\bstages?\b/i;

/**
 * The centre of the first area whose text names the stage (the word "stage" or "stages", in any case:
 * not "Backstage"), if any, as the seat map page draws it
 * (public/seat-map.js): a rectangle's middle, a circle's or ellipse's own position, and a
 * polygon's the middle of its points' bounds (its points are offsets from its position).
 */
function stageCentre(plan: Plan): { x: number; y: number } | null {
  for (const zone of plan.zones) {
    const stage = zone.areas?.find((area) => STAGE.test(areaText(area)));
    if (stage === undefined) continue;
    // An area without a shape is drawn as the page infers it: a polygon when it has points.
    const shape = stage.shape ?? (stage.polygon ? "polygon" : stage.width !== undefined ? "rectangle" : "circle");
    const points = shape === "polygon" ? (stage.polygon?.points ?? []) : [];
    if (points.length > 0) {
      const [xs, ys] = [points.map((point) => point.x), points.map((point) => point.y)];
      return {
        x: zone.position.x + stage.position.x + (Math.min(...xs) + Math.max(...xs)) / 2,
        y: zone.position.y + stage.position.y + (Math.min(...ys) + Math.max(...ys)) / 2,
      };
    }
    const round = shape === "ellipse" || shape === "circle";
    const x = zone.position.x + stage.position.x + (round ? 0 : (stage.width ?? 0) / 2);
    const y = zone.position.y + stage.position.y + (round ? 0 : (stage.height ?? 0) / 2);
    return { x, y };
  }
  return null;
}

export function areaText(area: PlanArea): string {
  return typeof area.text === "string" ? area.text : (area.text?.text ?? "");
}

/** Front centre: the middle of the seats, across, at the front row's line. */
function frontCentre(seats: PlacedSeat[]): { x: number; y: number } {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  for (const { x, y } of seats) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
  }
  return { x: (minX + maxX) / 2, y: minY };
}

/** Seats a generated row holds, for shows made from a flat list of seat ids. */
export const FLAT_ROW_LENGTH = 10;
const FLAT_SPACING = 30;
const FLAT_MARGIN = 40;
const FLAT_STAGE_DEPTH = 60;

/**
 * The plan of a show made from a flat list of seat ids (the old way): one zone, "Hall", with rows
 * of ten seats in list order, rows numbered from 1, seats from 1 in each row, one category,
 * "General", and the stage in front. Best available and the drawn map work on it like any plan.
 */
export function flatPlan(name: string, seatIds: Id[]): Plan {
  const rowCount = Math.ceil(seatIds.length / FLAT_ROW_LENGTH);
  const width = FLAT_MARGIN * 2 + (FLAT_ROW_LENGTH - 1) * FLAT_SPACING;
  const rows = Array.from({ length: rowCount }, (_, r) => ({
    row_number: String(r + 1),
    position: { x: FLAT_MARGIN, y: FLAT_MARGIN + FLAT_STAGE_DEPTH + r * FLAT_SPACING },
    seats: seatIds.slice(r * FLAT_ROW_LENGTH, (r + 1) * FLAT_ROW_LENGTH).map((id, s) => ({
      seat_guid: id,
      seat_number: String(s + 1),
      position: { x: s * FLAT_SPACING, y: 0 },
      category: "General",
    })),
  }));
  const stage = {
    shape: "rectangle" as const,
    position: { x: FLAT_MARGIN, y: FLAT_MARGIN / 2 },
    width: width - FLAT_MARGIN * 2,
    height: FLAT_STAGE_DEPTH - FLAT_MARGIN / 2,
    text: "Stage",
    color: "#3a3a3a",
  };
  return {
    name,
    size: { width, height: FLAT_MARGIN * 2 + FLAT_STAGE_DEPTH + rowCount * FLAT_SPACING },
    categories: [{ name: "General", color: PALETTE[0] }],
    zones: [{ name: "Hall", position: { x: 0, y: 0 }, rows, areas: [stage] }],
  };
}

/** A seat's label for buyers: zone, row and number. */
export function seatLabel(seat: { zone: string; row: string; number: string }): string {
  return `${seat.zone}, row ${seat.row}, seat ${seat.number}`;
}

/**
 * "Zone N" for the N-th zone, which has no name; "Zone N (2)" and on when the plan names another
 * zone so (two zones of one name are one zone in counts and filters).
 */
function unusedZoneName(n: number, taken: Set<string>): string {
  let name = `Zone ${n}`;
  for (let k = 2; taken.has(name); k++) name = `Zone ${n} (${k})`;
  taken.add(name);
  return name;
}
