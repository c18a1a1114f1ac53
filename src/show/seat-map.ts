import type { PublicId } from "../ids";
import { STATUS_OF_CODE } from "../live/protocol";
import type { CategoryCount, Failure, SeatCounts, SeatFilter, SeatMap, SeatStatus } from "./types";

/**
 * What a seat map is made of that changes only with the layout: the show's name and each seat's
 * id, category and zone, in plan order. Every change to a show's name or seats makes a new layout
 * version, so a frame at one version never changes. With the statuses (one character per seat,
 * at a change) and the counts per category, it is the whole seat map: the Worker composes the map
 * from its copies of both, so a read of the map costs the show's object a statuses read (a few
 * KB), not a map of hundreds of KB built and sent.
 */
export interface SeatFrame {
  show_id: PublicId;
  layout: number;
  name: string;
  seat_ids: PublicId[];
  /** Each seat's category, as its number in `categories`. */
  seat_categories: number[];
  /** Each seat's zone, as its number in `zones`. */
  seat_zones: number[];
  categories: string[];
  zones: string[];
}

/** A `?category=`/`?zone=` filter as numbers in a frame's lists (-1: any). */
export interface FilterNumbers {
  category: number;
  zone: number;
}

/** A filter by name as numbers in the frame's lists, or the failure naming what the plan lacks. */
export function filterNumbers(frame: SeatFrame, { category, zone }: SeatFilter): FilterNumbers | Failure {
  const categoryNumber = category === undefined ? -1 : frame.categories.indexOf(category);
  if (categoryNumber < 0 && category !== undefined) return { ok: false, reason: "unknown_category", category };
  const zoneNumber = zone === undefined ? -1 : frame.zones.indexOf(zone);
  if (zoneNumber < 0 && zone !== undefined) return { ok: false, reason: "unknown_zone", zone };
  return { category: categoryNumber, zone: zoneNumber };
}

/**
 * The seat map as JSON text: every seat of the frame that passes the filter, with its status from
 * `statuses` (STATUS_CODES, in plan order), the counts of those seats, and `categories` (every
 * category's counts, whatever the filter). The object and the Worker both build it here, so the
 * two can never answer differently.
 */
export function seatMapJson(
  frame: SeatFrame,
  statuses: string,
  categories: CategoryCount[],
  filter: FilterNumbers = { category: -1, zone: -1 },
): string {
  const seats: SeatMap["seats"] = [];
  const counts: SeatCounts = { total: 0, available: 0, held: 0, booked: 0, blocked: 0 };
  for (let place = 0; place < frame.seat_ids.length; place++) {
    if (filter.category >= 0 && frame.seat_categories[place] !== filter.category) continue;
    if (filter.zone >= 0 && frame.seat_zones[place] !== filter.zone) continue;
    const status: SeatStatus = STATUS_OF_CODE[statuses[place]!]!;
    seats.push({ seat_id: frame.seat_ids[place]!, status });
    counts.total++;
    counts[status]++;
  }
  const map: SeatMap = { show_id: frame.show_id, name: frame.name, seats, counts, categories };
  return JSON.stringify(map);
}
