/**
 * Writes scripts/venues/theatre.json, the demo venue: "Demo theatre", a plan in pretix's seating-plan format
 * with 970 seats. The stage is at the top; in front of it the Stalls (rows A-T in three blocks split by two
 * aisles, rows curved around the stage, and row W behind them: ten wheelchair places), then the Circle behind
 * (rows AA-JJ, three blocks, more strongly curved), and four Boxes beside the front stalls. Categories: Premium,
 * Standard, Economy and Wheelchair. It prints the seats per zone and per category.
 *
 *   node scripts/venues/make-theatre.ts
 *
 * Deterministic: running it again reproduces the file byte for byte. Seats are written one per line, which the
 * formatter would break up, so the file is in .prettierignore.
 */
import { writeFileSync } from "node:fs";
import type { Area, Plan, Position, Row, Zone } from "./arena.ts";

const OUTPUT = new URL("./theatre.json", import.meta.url);

const WIDTH = 1400;
const HEIGHT = 1460;
/** Every block of seats is centred on the stage's axis. */
const CENTRE_X = WIDTH / 2;
const STAGE = { x: CENTRE_X - 300, y: 40, width: 600, height: 110 };

const SEAT_SPACING = 26;
/** Centre to centre across an aisle: 2.5 seat spacings, clearly over the importer's 1.5× aisle threshold. */
const AISLE_SPACING = 66;
/** Wheelchair places are wider than seats; still under 1.5 × SEAT_SPACING, so no aisle opens between two. */
const WHEELCHAIR_SPACING = 44;

/** Centre of the front stalls row; rows are arcs around a point above the stage (row A's radius is 2000). */
const STALLS_FRONT_Y = 240;
const STALLS_ROWS = 20;
const STALLS_ROW_SPACING = 34;
const STALLS_FRONT_RADIUS = 2000;
/** The wheelchair row stands clear of row T, so that chairs can turn behind it. */
const WHEELCHAIR_ROW_GAP = 60;
const CIRCLE_FRONT_Y = 1080;
const CIRCLE_ROWS = 10;
const CIRCLE_ROW_SPACING = 36;
/** The circle curves more than the stalls, as a horseshoe balcony does. */
const CIRCLE_FRONT_RADIUS = 1400;

const CATEGORIES = [
  { name: "Premium", color: "#c0392b" },
  { name: "Standard", color: "#2980b9" },
  { name: "Economy", color: "#27ae60" },
  { name: "Wheelchair", color: "#8e44ad" },
];

/** A seat before it is nested: absolute position. */
interface PlacedSeat {
  guid: string;
  number: string;
  x: number;
  y: number;
  category: string;
}

interface PlacedRow {
  number: string;
  seats: PlacedSeat[];
}

/** One block of a row: its seats' categories, left to right. */
type RowBlock = string[];

/** Stalls rows A-T (`r` from 0): side blocks of 6-10 seats, a centre block of 12-15, growing towards the back. */
function stallsBlocks(r: number): RowBlock[] {
  const side = 6 + Math.floor(r / 4);
  const centre = 12 + Math.floor(r / 5);
  // Premium is the centre block's front eleven rows (A-K); the side blocks turn Economy from row N.
  const sideCategory = r < 13 ? "Standard" : "Economy";
  return [repeat(sideCategory, side), repeat(r < 11 ? "Premium" : "Standard", centre), repeat(sideCategory, side)];
}

function stalls(): Zone {
  const centreY = arcCentreY(STALLS_FRONT_Y, STALLS_FRONT_RADIUS);
  const rows: PlacedRow[] = [];
  for (let r = 0; r < STALLS_ROWS; r++) {
    const y = STALLS_FRONT_Y + r * STALLS_ROW_SPACING;
    rows.push(curvedRow("stalls", String.fromCharCode(65 + r), stallsBlocks(r), y, centreY));
  }
  rows.push(wheelchairRow(centreY));
  const stage: Area = {
    position: { x: STAGE.x, y: STAGE.y },
    width: STAGE.width,
    height: STAGE.height,
    color: "#333333",
    border_color: "#000000",
    text: "Stage",
  };
  return nest("Stalls", rows, [stage]);
}

/**
 * Row W: ten wheelchair places on the level cross-aisle behind row T, wider apart than seats: three at the foot of
 * each side aisle (on the side blocks' side) and four behind the middle of the centre block.
 */
function wheelchairRow(centreY: number): PlacedRow {
  const lastRow = stallsBlocks(STALLS_ROWS - 1);
  // How far the left aisle's edge seat in row T is from the axis; the right one mirrors it.
  const aisleX = -offsetsOf(lastRow)[lastRow[0]!.length - 1]!;
  const xs = [
    ...[2, 1, 0].map((i) => -aisleX - i * WHEELCHAIR_SPACING),
    ...[-1.5, -0.5, 0.5, 1.5].map((i) => i * WHEELCHAIR_SPACING),
    ...[0, 1, 2].map((i) => aisleX + i * WHEELCHAIR_SPACING),
  ];
  const y = STALLS_FRONT_Y + (STALLS_ROWS - 1) * STALLS_ROW_SPACING + WHEELCHAIR_ROW_GAP;
  return {
    number: "W",
    seats: xs.map((dx, i) => ({
      guid: `stalls-W-${i + 1}`,
      number: String(i + 1),
      x: CENTRE_X + dx,
      y: onArc(dx, y, centreY),
      category: "Wheelchair",
    })),
  };
}

function circle(): Zone {
  const centreY = arcCentreY(CIRCLE_FRONT_Y, CIRCLE_FRONT_RADIUS);
  const rows: PlacedRow[] = [];
  for (let r = 0; r < CIRCLE_ROWS; r++) {
    const letter = String.fromCharCode(65 + r);
    const side = 7 + Math.floor(r / 2);
    const centre = 15 + Math.floor(r / 2);
    // Front circle centre (AA-EE) is Standard; its back rows and the side blocks are Economy.
    const blocks = [repeat("Economy", side), repeat(r < 5 ? "Standard" : "Economy", centre), repeat("Economy", side)];
    const y = CIRCLE_FRONT_Y + r * CIRCLE_ROW_SPACING;
    rows.push(curvedRow("circle", letter + letter, blocks, y, centreY));
  }
  return nest("Circle", rows, []);
}

/** Boxes A and B on the left of the front stalls, C and D mirroring them on the right; each a straight row. */
function boxes(): Zone {
  const specs = [
    { letter: "A", seats: 4, side: -1, y: 250 },
    { letter: "B", seats: 6, side: -1, y: 360 },
    { letter: "C", seats: 4, side: 1, y: 250 },
    { letter: "D", seats: 6, side: 1, y: 360 },
  ];
  const innerEdge = 470;
  const rows: PlacedRow[] = [];
  const areas: Area[] = [];
  for (const { letter, seats, side, y } of specs) {
    const xs = Array.from({ length: seats }, (_, i) => i * SEAT_SPACING);
    const width = (seats - 1) * SEAT_SPACING;
    const left = side < 0 ? CENTRE_X - innerEdge - width : CENTRE_X + innerEdge;
    rows.push({
      number: letter,
      seats: xs.map((x, i) => ({
        guid: `box-${letter.toLowerCase()}-${i + 1}`,
        number: String(i + 1),
        x: left + x,
        y,
        category: "Premium",
      })),
    });
    // The box's walls, drawn under its seats.
    const padding = 20;
    areas.push({
      position: { x: left - padding, y: y - padding },
      width: width + 2 * padding,
      height: 2 * padding,
      color: "#f3e9d2",
      border_color: "#8b6f47",
    });
  }
  return nest("Boxes", rows, areas);
}

/** A row of blocks split by aisles, centred on the stage's axis, each seat on an arc around (CENTRE_X, centreY). */
function curvedRow(prefix: string, rowNumber: string, blocks: RowBlock[], y: number, centreY: number): PlacedRow {
  const categories = blocks.flat();
  return {
    number: rowNumber,
    seats: offsetsOf(blocks).map((dx, i) => ({
      guid: `${prefix}-${rowNumber}-${i + 1}`,
      number: String(i + 1),
      x: CENTRE_X + dx,
      y: onArc(dx, y, centreY),
      category: categories[i]!,
    })),
  };
}

/** Seats' x offsets from the stage's axis: SEAT_SPACING apart within a block, AISLE_SPACING across an aisle. */
function offsetsOf(blocks: RowBlock[]): number[] {
  const offsets: number[] = [];
  let x = 0;
  for (const [b, block] of blocks.entries()) {
    if (b > 0) x += AISLE_SPACING - SEAT_SPACING;
    for (let i = 0; i < block.length; i++, x += SEAT_SPACING) offsets.push(x);
  }
  const half = offsets[offsets.length - 1]! / 2;
  // Both halves of a row are the same width, so half is an integer and the row stays on whole units.
  return offsets.map((offset) => offset - half);
}

/** The y of the point above the stage around which rows curve, given the front row's y and its radius. */
function arcCentreY(frontY: number, frontRadius: number): number {
  return frontY - frontRadius;
}

/** The y of a seat dx from the axis on the arc through (CENTRE_X, y) centred on (CENTRE_X, centreY). */
function onArc(dx: number, y: number, centreY: number): number {
  const radius = y - centreY;
  return Math.round(centreY + Math.sqrt(radius * radius - dx * dx));
}

/**
 * A zone from rows of absolute positions: its origin is the top-left of everything in it, each row's position the
 * top-left of its seats, so every relative position is a non-negative integer.
 */
function nest(name: string, rows: PlacedRow[], areas: Area[]): Zone {
  const seats = rows.flatMap((row) => row.seats);
  const origin = {
    x: Math.min(...seats.map((seat) => seat.x), ...areas.map((area) => area.position.x)),
    y: Math.min(...seats.map((seat) => seat.y), ...areas.map((area) => area.position.y)),
  };
  const zoneRows = rows.map((row): Row => {
    const rowOrigin = {
      x: Math.min(...row.seats.map((seat) => seat.x)),
      y: Math.min(...row.seats.map((seat) => seat.y)),
    };
    return {
      row_number: row.number,
      position: minus(rowOrigin, origin),
      seats: row.seats.map((seat) => ({
        seat_guid: seat.guid,
        seat_number: seat.number,
        position: minus(seat, rowOrigin),
        category: seat.category,
      })),
    };
  });
  const zone: Zone = { name, position: origin, rows: zoneRows };
  if (areas.length > 0) zone.areas = areas.map((area) => ({ ...area, position: minus(area.position, origin) }));
  return zone;
}

function minus(point: Position, origin: Position): Position {
  return { x: point.x - origin.x, y: point.y - origin.y };
}

function repeat(category: string, count: number): RowBlock {
  return Array.from({ length: count }, () => category);
}

/**
 * JSON as `JSON.stringify(value, null, 2)` writes it, except that seats and the small objects (positions, sizes,
 * categories, areas) stay on one line, printed as the formatter prints them: a seat a line keeps the file readable.
 */
function formatJson(value: unknown, indent = ""): string {
  if (value === null || typeof value !== "object" || staysOnOneLine(value)) return formatInline(value);
  const inner = indent + "  ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[\n${value.map((item) => inner + formatJson(item, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(value).map(
    ([key, item]) => `${inner}${JSON.stringify(key)}: ${formatJson(item, inner)}`,
  );
  return `{\n${entries.join(",\n")}\n${indent}}`;
}

/** Seats, and objects that hold no lists. */
function staysOnOneLine(value: object): boolean {
  if (Array.isArray(value)) return false;
  return "seat_guid" in value || !Object.values(value).some(Array.isArray);
}

function formatInline(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(formatInline).join(", ")}]`;
  const entries = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${formatInline(item)}`);
  return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
}

/** Stops the script before it writes a plan the importer would refuse, should a constant above be changed. */
function assertImportable(plan: Plan): void {
  const guids = new Set<string>();
  for (const zone of plan.zones) {
    for (const seat of zone.rows.flatMap((row) => row.seats)) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(seat.seat_guid) || guids.has(seat.seat_guid)) {
        throw new Error(`seat_guid ${seat.seat_guid} is malformed or used twice`);
      }
      if (!Number.isInteger(seat.position.x) || !Number.isInteger(seat.position.y)) {
        throw new Error(`seat ${seat.seat_guid} is not on whole units`);
      }
      guids.add(seat.seat_guid);
    }
  }
}

const plan: Plan = {
  name: "Demo theatre",
  size: { width: WIDTH, height: HEIGHT },
  categories: CATEGORIES,
  zones: [stalls(), circle(), boxes()],
};

assertImportable(plan);
writeFileSync(OUTPUT, formatJson(plan) + "\n");

const allSeats = plan.zones.flatMap((zone) => zone.rows.flatMap((row) => row.seats));
const perZone = plan.zones.map((zone) => `${zone.name} ${zone.rows.reduce((sum, row) => sum + row.seats.length, 0)}`);
const perCategory = CATEGORIES.map(({ name }) => `${name} ${allSeats.filter((seat) => seat.category === name).length}`);
console.log(`Wrote theatre.json: ${allSeats.length} seats; ${perZone.join(", ")}; ${perCategory.join(", ")}`);
