/**
 * Synthetic arena seating plans in pretix's published seating-plan format, for tests and benchmarks that need
 * a plan of a given size: `arenaPlan({ seats: 100_000 })`. A stage at the top, then blocks of seats (one per
 * zone) in front of it: the first block faces the stage, the next two flank it, and further blocks form tiers
 * behind, three to a tier.
 *
 * Pure and deterministic (no `node:` imports, no randomness): workerd tests import it too, and the same options
 * must always give the same plan.
 */

/** A point in plan units. Integers; y grows downward, away from the stage. */
export interface Position {
  x: number;
  y: number;
}

/** A price category. Names are unique within a plan; `color` is `#rrggbb`. */
export interface Category {
  name: string;
  color?: string;
}

/**
 * A seat. `seat_guid` matches /^[A-Za-z0-9_-]{1,64}$/ and is unique across the plan; `category` names one of the
 * plan's categories; `position` is relative to the row (absolute = zone + row + seat). `uuid` and `radius` are
 * keys pretix's visual editor adds to its exports.
 */
export interface Seat {
  seat_guid: string;
  seat_number: string;
  position: Position;
  category: string;
  uuid?: string;
  radius?: number;
}

/**
 * A row: its seats listed left to right. A gap between consecutive seats wider than 1.5 times the row's usual
 * spacing is an aisle. `position` is relative to the zone. The other optional keys are written by pretix's
 * visual editor.
 */
export interface Row {
  row_number: string;
  position?: Position;
  seats: Seat[];
  uuid?: string;
  row_label?: string | null;
  row_number_position?: string;
  seats_spacing?: number;
  number_of_seats?: number;
}

/**
 * A rectangle drawn on the plan; `position` (its top-left corner) is relative to the zone. An area whose text
 * contains "stage" (any case) is the stage. `uuid` and `shape` are written by pretix's visual editor.
 */
export interface Area {
  position: Position;
  width: number;
  height: number;
  color?: string;
  border_color?: string;
  rotation?: number;
  text?: string;
  uuid?: string;
  shape?: string;
}

/** A zone: rows and areas positioned relative to `position`. `uuid` and `displayed` come from pretix's editor. */
export interface Zone {
  name: string;
  position: Position;
  rows: Row[];
  areas?: Area[];
  uuid?: string;
  displayed?: boolean;
}

/** A seating plan in pretix's format. Every position lies within `size` once made absolute. */
export interface Plan {
  name: string;
  size?: { width: number; height: number };
  categories: Category[];
  zones: Zone[];
}

export interface ArenaOptions {
  /** Seats in the plan, exactly: a positive integer. */
  seats: number;
  /** Zones holding seats (default 3). Fewer when there are fewer seats than zones, so that none is empty. */
  zones?: number;
  /** Adds the keys pretix's visual editor writes to its exports (uuids, radius, row labels, ...). */
  editorKeys?: boolean;
  name?: string;
}

const SEAT_SPACING = 24;
const ROW_SPACING = 30;
/** Centre to centre across an aisle: twice the 1.5× spacing the importer takes for an aisle, so never ambiguous. */
const AISLE_SPACING = 3 * SEAT_SPACING;
/** Rows with at least this many seats get one aisle, and two from the second threshold. */
const ONE_AISLE_FROM = 12;
const TWO_AISLES_FROM = 30;
const SEAT_RADIUS = 10;
const ZONE_GAP = 120;
const STAGE_GAP = 80;
const MARGIN = 40;
const ZONES_PER_TIER = 3;

/** Categories from the stage back: each takes a third of the seats, ranked by distance to the stage's centre. */
const CATEGORIES: Category[] = [
  { name: "A", color: "#c0392b" },
  { name: "B", color: "#2980b9" },
  { name: "C", color: "#27ae60" },
];

/**
 * The seats of one zone before placement. Each row: its seats' x offsets from its first seat, and that seat's
 * offset from the block's left edge.
 */
interface Block {
  rows: { seatXs: number[]; left: number }[];
  width: number;
  depth: number;
}

interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** What building the zones collects: every seat in order, with its distance to the stage's centre. */
interface SeatLedger {
  seats: Seat[];
  distances: Float64Array;
  stageCentre: Position;
  /** Hands out editor uuids; null when the plan has no editor keys. */
  ids: (() => string) | null;
}

/**
 * A plan of exactly `options.seats` seats (categories A, B, C by distance to the stage), split evenly over
 * `options.zones` zones. Throws a RangeError when seats or zones is not a positive integer.
 */
export function arenaPlan(options: ArenaOptions): Plan {
  const { seats, zones = 3, editorKeys = false } = options;
  if (!Number.isSafeInteger(seats) || seats < 1) throw new RangeError(`seats must be a positive integer, not ${seats}`);
  if (!Number.isSafeInteger(zones) || zones < 1) throw new RangeError(`zones must be a positive integer, not ${zones}`);

  const blocks = splitEvenly(seats, Math.min(zones, seats)).map(blockOf);
  const { stage, corners } = placeBlocks(blocks);
  const ledger: SeatLedger = {
    seats: [],
    distances: new Float64Array(seats),
    stageCentre: { x: stage.x + stage.width / 2, y: stage.y + stage.height / 2 },
    ids: editorKeys ? uuidSource() : null,
  };
  const planZones = blocks.map((block, i) => zoneOf(i + 1, block, corners[i]!, i === 0 ? stage : null, ledger));
  assignCategories(ledger.seats, ledger.distances);

  const right = maxOf(corners.map((corner, i) => corner.x + blocks[i]!.width).concat(stage.x + stage.width));
  const bottom = maxOf(corners.map((corner, i) => corner.y + blocks[i]!.depth));
  return {
    name: options.name ?? `Arena (${seats} seats)`,
    size: { width: right + MARGIN, height: bottom + MARGIN },
    categories: CATEGORIES.map((category) => ({ ...category })),
    zones: planZones,
  };
}

/** Zone `zoneNumber` with its block's top-left at `corner`; the first zone also holds the stage. */
function zoneOf(zoneNumber: number, block: Block, corner: Position, stage: Rectangle | null, ledger: SeatLedger): Zone {
  // The zone's origin is the top-left of everything in it, so that every relative position is >= 0.
  const origin = stage ? { x: Math.min(corner.x, stage.x), y: stage.y } : { ...corner };
  const rows = block.rows.map((row, rowIndex) => {
    const position = { x: corner.x - origin.x + row.left, y: corner.y - origin.y + rowIndex * ROW_SPACING };
    return rowOf(`z${zoneNumber}-r${rowIndex + 1}`, String(rowIndex + 1), row.seatXs, position, origin, ledger);
  });
  const zone: Zone = { name: `Zone ${zoneNumber}`, position: origin, rows };
  if (stage) zone.areas = [stageArea(stage, origin, ledger.ids)];
  if (ledger.ids) Object.assign(zone, { uuid: ledger.ids(), displayed: true });
  return zone;
}

function rowOf(
  guidPrefix: string,
  rowNumber: string,
  seatXs: number[],
  position: Position,
  origin: Position,
  ledger: SeatLedger,
): Row {
  const { ids, stageCentre } = ledger;
  const dy = origin.y + position.y - stageCentre.y;
  const seats = seatXs.map((x, i) => {
    // The category is set once every seat's distance is known.
    const seat: Seat = {
      seat_guid: `${guidPrefix}-s${i + 1}`,
      seat_number: String(i + 1),
      position: { x, y: 0 },
      category: "",
    };
    if (ids) Object.assign(seat, { uuid: ids(), radius: SEAT_RADIUS });
    ledger.distances[ledger.seats.length] = Math.hypot(origin.x + position.x + x - stageCentre.x, dy);
    ledger.seats.push(seat);
    return seat;
  });
  const row: Row = { row_number: rowNumber, position, seats };
  if (ids) {
    Object.assign(row, {
      uuid: ids(),
      row_label: null,
      row_number_position: "left",
      seats_spacing: SEAT_SPACING,
      number_of_seats: seats.length,
    });
  }
  return row;
}

/** `total` split into `parts` whole numbers that differ by at most one, largest first. */
function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

/**
 * Rows for `seats` seats in a roughly square block: each row two seats longer than the one in front (a fan), up
 * to 1.6 times the front row, and the last row takes what is left. The aisles run straight from front to back.
 */
function blockOf(seats: number): Block {
  const front = Math.max(4, Math.round(0.8 * Math.sqrt(seats)));
  const longest = Math.round(1.6 * front);
  const lengths: number[] = [];
  for (let left = seats; left > 0;) {
    const length = Math.min(left, front + 2 * lengths.length, longest);
    lengths.push(length);
    left -= length;
  }
  const aisles = longest >= TWO_AISLES_FROM ? 2 : longest >= ONE_AISLE_FROM ? 1 : 0;
  // With two aisles, the centre section keeps the front row's middle half in every row; the sides grow.
  const centre = front - 2 * Math.floor(front / 4);
  const rowXs = lengths.map((length) => seatOffsets(sectionsOf(length, aisles, centre)));
  const lefts = rowXs.map((xs) => xs[0]!);
  const blockLeft = minOf(lefts);
  return {
    rows: rowXs.map((xs, i) => ({ seatXs: xs.map((x) => x - lefts[i]!), left: lefts[i]! - blockLeft })),
    width: maxOf(rowXs.map((xs) => xs[xs.length - 1]!)) - blockLeft,
    depth: (lengths.length - 1) * ROW_SPACING,
  };
}

/** A row's seats split into [left, centre, right] sections; an empty side section means no aisle on that side. */
function sectionsOf(length: number, aisles: number, centre: number): [number, number, number] {
  if (aisles === 0 || length < ONE_AISLE_FROM) return [0, length, 0];
  if (aisles === 1) return [Math.floor(length / 2), 0, length - Math.floor(length / 2)];
  const middle = Math.min(centre, length);
  const left = Math.floor((length - middle) / 2);
  return [left, middle, length - middle - left];
}

/**
 * X offsets of a row's seats from the block's axis, left to right. The centre section is centred on the axis, and
 * the side sections sit an aisle away from it; with no centre section, one aisle straddles the axis.
 */
function seatOffsets([left, centre, right]: [number, number, number]): number[] {
  const xs: number[] = [];
  // SEAT_SPACING and AISLE_SPACING are even, so every offset is a whole number.
  const centreStart = centre > 0 ? -((centre - 1) * SEAT_SPACING) / 2 : AISLE_SPACING / 2;
  const centreEnd = centre > 0 ? -centreStart : -AISLE_SPACING / 2;
  const leftEnd = centre > 0 ? centreStart - AISLE_SPACING : centreEnd;
  for (let i = left - 1; i >= 0; i--) xs.push(leftEnd - i * SEAT_SPACING);
  for (let i = 0; i < centre; i++) xs.push(centreStart + i * SEAT_SPACING);
  const rightStart = centre > 0 ? centreEnd + AISLE_SPACING : centreStart;
  for (let i = 0; i < right; i++) xs.push(rightStart + i * SEAT_SPACING);
  return xs;
}

/**
 * The stage, and the top-left corner of each block: tiers of three (centre, right, left) behind the stage,
 * everything shifted so the plan starts at MARGIN.
 */
function placeBlocks(blocks: Block[]): { stage: Rectangle; corners: Position[] } {
  const front = blocks[0]!;
  const stageWidth = Math.max(4 * SEAT_SPACING, Math.round(0.6 * front.width));
  const stageHeight = Math.min(400, Math.max(40, Math.round(stageWidth / 4)));
  const stage = { x: -Math.round(stageWidth / 2), y: 0, width: stageWidth, height: stageHeight };
  const corners: Position[] = [];
  let tierTop = stageHeight + STAGE_GAP;
  for (let first = 0; first < blocks.length; first += ZONES_PER_TIER) {
    const tier = blocks.slice(first, first + ZONES_PER_TIER);
    const centreX = -Math.round(tier[0]!.width / 2);
    corners.push({ x: centreX, y: tierTop });
    if (tier[1]) corners.push({ x: centreX + tier[0]!.width + ZONE_GAP, y: tierTop });
    if (tier[2]) corners.push({ x: centreX - ZONE_GAP - tier[2].width, y: tierTop });
    tierTop += maxOf(tier.map((block) => block.depth)) + ZONE_GAP;
  }
  const shiftX = MARGIN - Math.min(stage.x, minOf(corners.map((corner) => corner.x)));
  const shiftY = MARGIN;
  return {
    stage: { ...stage, x: stage.x + shiftX, y: stage.y + shiftY },
    corners: corners.map((corner) => ({ x: corner.x + shiftX, y: corner.y + shiftY })),
  };
}

function stageArea(stage: Rectangle, origin: Position, ids: (() => string) | null): Area {
  const area: Area = {
    position: { x: stage.x - origin.x, y: stage.y - origin.y },
    width: stage.width,
    height: stage.height,
    color: "#333333",
    border_color: "#000000",
    rotation: 0,
    text: "Stage",
  };
  if (ids) Object.assign(area, { uuid: ids(), shape: "rectangle" });
  return area;
}

/** A, B and C by distance to the stage's centre, a third of the seats each (ties go to the nearer category). */
function assignCategories(seats: Seat[], distances: Float64Array): void {
  const sorted = distances.slice().sort();
  const nearest = sorted[Math.ceil(seats.length / 3) - 1]!;
  const middle = sorted[Math.ceil((2 * seats.length) / 3) - 1]!;
  for (let i = 0; i < seats.length; i++) {
    const distance = distances[i]!;
    seats[i]!.category = distance <= nearest ? "A" : distance <= middle ? "B" : "C";
  }
}

/** The largest of `values`, without spreading them into arguments (a plan may have 150,000 rows or zones). */
function maxOf(values: number[]): number {
  return values.reduce((max, value) => Math.max(max, value), -Infinity);
}

function minOf(values: number[]): number {
  return values.reduce((min, value) => Math.min(min, value), Infinity);
}

/** UUID-shaped ids from a counter: unique within a plan and the same on every run. */
function uuidSource(): () => string {
  let counter = 0;
  return () => `00000000-0000-4000-8000-${(++counter).toString(16).padStart(12, "0")}`;
}
