import { z } from "zod";
import { ID_PATTERN } from "../ids";

/**
 * A seating plan in pretix's published format (`src/pretix/static/seating/seating-plan.schema.json`
 * in pretix/pretix): a name, price categories, and zones of rows of seats, plus areas such as
 * the stage. Plans drawn in pretix's editor import as they are: the keys the editor adds (`uuid`,
 * `row_label`, `radius`, `row_number_position`, `shape`, …) are accepted, and those this service
 * does not use are dropped.
 *
 * Positions: a seat's place on the plan is its zone's position plus its row's plus its own; an
 * area's is its zone's plus its own. y grows downwards. A row lists its seats in order along it.
 */

/** The most seats one show may have. */
export const MAX_SEATS = 100_000;
export const MAX_ZONES = 1000;
/** Enough for a flat list of MAX_SEATS seats in its generated plan (rows of ten, one zone). */
export const MAX_ROWS_PER_ZONE = 10_000;
export const MAX_AREAS_PER_ZONE = 200;
export const MAX_CATEGORIES = 100;
export const MAX_POLYGON_POINTS = 500;
/** Coordinates further out than this are refused: no real plan needs them, and they break drawing. */
const MAX_COORDINATE = 1_000_000;

/**
 * Text is stored and compared as UTF-16 and served as UTF-8: a lone surrogate (JSON's "\ud800")
 * would come back as U+FFFD, so two different names could read back the same, and a plan could
 * never again match itself. Such text is refused.
 */
export const wellFormed = (text: string) => text.isWellFormed();
export const WELL_FORMED = "must be well-formed Unicode (no unpaired surrogate)";

const Coordinate = z.number().min(-MAX_COORDINATE).max(MAX_COORDINATE);
const Position = z.object({ x: Coordinate, y: Coordinate });
const Label = (max: number) => z.string().max(max).refine(wellFormed, WELL_FORMED);
/** Colours end up in the page's SVG, so only plain forms are accepted: `#rgb`, `#rrggbb(aa)` or a name. */
const Color = z.string().regex(/^(#([0-9A-Fa-f]{3,4}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})|[A-Za-z]{1,20})$/);

const Seat = z.object({
  seat_guid: z.string().regex(ID_PATTERN),
  seat_number: Label(32),
  position: Position,
  category: Label(64),
});

const Row = z.object({
  row_number: Label(32),
  position: Position.optional(),
  seats: z.array(Seat).max(MAX_SEATS),
});

/** pretix's schema gives an area's text as a string; its editor writes `{ text, position, color, size }`. */
const AreaText = z.union([
  Label(200),
  // `size` is the text's font size on the page's map, in plan units.
  z.object({
    text: Label(200),
    position: Position.optional(),
    color: Color.optional(),
    size: Coordinate.min(0).optional(),
  }),
]);

const Area = z.object({
  shape: z.enum(["rectangle", "ellipse", "circle", "polygon", "text"]).optional(),
  position: Position,
  width: Coordinate.optional(),
  height: Coordinate.optional(),
  radius: Coordinate.optional(),
  rotation: z.number().min(-360).max(360).optional(),
  color: Color.optional(),
  border_color: Color.optional(),
  text: AreaText.optional(),
  polygon: z.object({ points: z.array(Position).max(MAX_POLYGON_POINTS) }).optional(),
});

const Zone = z.object({
  name: Label(200).optional(),
  position: Position,
  rows: z.array(Row).max(MAX_ROWS_PER_ZONE),
  areas: z.array(Area).max(MAX_AREAS_PER_ZONE).optional(),
});

// A category is named by seats, by `?category=` and by best available, which take no empty name.
const Category = z.object({
  name: z.string().min(1, "must not be empty").max(64).refine(wellFormed, WELL_FORMED),
  color: Color.optional(),
});

const PlanShape = z.object({
  name: Label(200),
  categories: z.array(Category).min(1).max(MAX_CATEGORIES),
  zones: z.array(Zone).min(1).max(MAX_ZONES),
  size: z.object({ width: Coordinate, height: Coordinate }).optional(),
});

export const PlanSchema = PlanShape.superRefine(checkReferences).describe(
  `a seating plan in pretix's format: name, categories [{name, color}], zones [{name, position, rows [{row_number, position, seats [{seat_guid, seat_number, position, category}]}], areas}], optional size; 1 to ${MAX_SEATS} seats`,
);

export type Plan = z.output<typeof PlanSchema>;
export type PlanZone = Plan["zones"][number];
export type PlanArea = NonNullable<PlanZone["areas"]>[number];

/**
 * What JSON Schema cannot say: category names are distinct, every seat's category is one of
 * them, each `seat_guid` is used once, and there are 1 to MAX_SEATS seats. The first problem is
 * reported at its path, so an admin can find it in a plan of 100,000 seats.
 */
function checkReferences(plan: z.output<typeof PlanShape>, ctx: z.RefinementCtx): void {
  const categories = new Set<string>();
  for (const [i, category] of plan.categories.entries()) {
    if (categories.has(category.name)) {
      ctx.addIssue({ code: "custom", path: ["categories", i, "name"], message: `repeats category '${category.name}'` });
      return;
    }
    categories.add(category.name);
  }
  const guids = new Set<string>();
  for (const [z_, zone] of plan.zones.entries()) {
    for (const [r, row] of zone.rows.entries()) {
      for (const [s, seat] of row.seats.entries()) {
        const at = ["zones", z_, "rows", r, "seats", s];
        if (guids.has(seat.seat_guid)) {
          ctx.addIssue({ code: "custom", path: [...at, "seat_guid"], message: `repeats seat '${seat.seat_guid}'` });
          return;
        }
        if (guids.size === MAX_SEATS) {
          ctx.addIssue({ code: "custom", path: at, message: `is one seat too many: a plan has at most ${MAX_SEATS}` });
          return;
        }
        guids.add(seat.seat_guid);
        if (!categories.has(seat.category)) {
          const message = `names category '${seat.category}', which is not in the plan's categories`;
          ctx.addIssue({ code: "custom", path: [...at, "category"], message });
          return;
        }
      }
    }
  }
  if (guids.size === 0) ctx.addIssue({ code: "custom", path: ["zones"], message: "has no seats" });
}
