import type { Id } from "../ids";
import { bestBlock, seatGrid, type SeatGrid } from "../venue/best-available";
import * as q from "./queries";
import type { CategoryCount, SeatStatus } from "./types";

/** A seat's status as one number, in the order of STATUS_CODES. */
const STATUS_NUMBER: Record<SeatStatus, number> = { available: 0, held: 1, booked: 2, blocked: 3 };
const STATUS_OF_NUMBER: readonly SeatStatus[] = ["available", "held", "booked", "blocked"];

/** A seat as buyers are told of it: its id and where it is. */
export interface SeatDetails {
  seat_id: Id;
  zone: string;
  row: string;
  number: string;
  category: string;
}

/**
 * The show's seats in memory, by seat number (plan order): where each is and, kept current from
 * the audit log, what state it is in. Built once per layout version from the database; after
 * that, `sync` applies the changes logged since it last looked, which costs only those changes.
 * Best available, the status snapshot and the category counts read it instead of deriving every
 * seat's status in SQL, so they cost microseconds per thousand seats.
 *
 * The database stays the truth: every change that sells or holds a seat checks it there, in the
 * transaction that writes it. This index only chooses which seats to ask for.
 */
export class SeatIndex {
  readonly ids: Id[] = [];
  readonly zones: string[];
  readonly categories: { name: string; color: string }[];
  private readonly place = new Map<Id, number>();
  private readonly rows: string[] = [];
  private readonly numbers: string[] = [];
  private readonly grid: SeatGrid;
  /** The last audit log entry applied to `grid.status`. */
  private synced: number;

  constructor(
    private readonly sql: SqlStorage,
    now: number,
  ) {
    const rows = q.placedSeats(sql);
    this.categories = q.categories(sql);
    const built = seatGrid(
      rows,
      this.categories.map((category) => category.name),
      q.focal(sql),
    );
    this.grid = built.grid;
    this.zones = built.zones;
    rows.forEach((row, i) => {
      this.ids.push(row.seat_id);
      this.place.set(row.seat_id, i);
      this.rows.push(row.row_label);
      this.numbers.push(row.seat_number);
    });
    this.synced = q.latestChange(sql);
    // Every seat starts available (0); the taken ones are read, not every seat's status.
    for (const { seat_id, status } of q.takenSeats(sql, { now })) {
      const place = this.place.get(seat_id);
      if (place !== undefined) this.grid.status[place] = STATUS_NUMBER[status];
    }
  }

  get size(): number {
    return this.ids.length;
  }

  has(seat: Id): boolean {
    return this.place.has(seat);
  }

  /** The seat's number in plan order, or -1 when the layout has no such seat. */
  placeOf(seat: Id): number {
    return this.place.get(seat) ?? -1;
  }

  /** Applies the seat changes logged since the last call. */
  sync(): void {
    const changes = q.changesSince(this.sql, { since: this.synced });
    for (const change of changes) {
      const place = this.place.get(change.seat_id);
      if (place !== undefined) this.grid.status[place] = STATUS_NUMBER[change.new_status];
      this.synced = change.seq;
    }
  }

  statusOf(place: number): SeatStatus {
    return STATUS_OF_NUMBER[this.grid.status[place]!]!;
  }

  /** Every seat's status, one character each in plan order, as `codes` spells them. */
  statusString(codes: Record<SeatStatus, string>): string {
    const letters = STATUS_OF_NUMBER.map((status) => codes[status]);
    let text = "";
    for (const status of this.grid.status) text += letters[status];
    return text;
  }

  /** Seats and available seats per category, in the plan's order of categories. */
  categoryCounts(): CategoryCount[] {
    const counts = this.categories.map(({ name, color }) => ({ name, color, total: 0, available: 0 }));
    return this.countInto(counts, this.grid.category);
  }

  /** Seats and available seats per zone, in plan order. */
  zoneCounts(): { name: string; total: number; available: number }[] {
    return this.countInto(
      this.zones.map((name) => ({ name, total: 0, available: 0 })),
      this.grid.zone,
    );
  }

  /** Adds each seat to the count of its group (`groupOf[seat]`), and to the group's available ones if it is. */
  private countInto<C extends { total: number; available: number }>(counts: C[], groupOf: Uint16Array): C[] {
    const { status } = this.grid;
    for (let i = 0; i < this.size; i++) {
      const counted = counts[groupOf[i]!]!;
      counted.total++;
      if (status[i] === 0) counted.available++;
    }
    return counts;
  }

  /** Each seat's category and zone number, in plan order (for the seat map's frame). */
  places(): { categories: number[]; zones: number[] } {
    return { categories: Array.from(this.grid.category), zones: Array.from(this.grid.zone) };
  }

  /** The best block of `count` adjacent available seats (see `bestBlock`), or null. */
  bestAvailable(count: number, category: number, zone: number): Id[] | null {
    const first = bestBlock(this.grid, { count, category, zone });
    return first < 0 ? null : this.ids.slice(first, first + count);
  }

  details(seat: Id): SeatDetails {
    const i = this.place.get(seat)!;
    return {
      seat_id: seat,
      zone: this.zones[this.grid.zone[i]!]!,
      row: this.rows[i]!,
      number: this.numbers[i]!,
      category: this.categories[this.grid.category[i]!]?.name ?? "",
    };
  }
}
