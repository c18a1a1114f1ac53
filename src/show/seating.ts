import type { Plan } from "../contract/plan";
import { publicId, type Id } from "../ids";
import { STATUS_CODES, type LayoutMessage, type SnapshotMessage } from "../live/protocol";
import { flatPlan, layoutFromPlan, seatLabel, type VenueLayout } from "../venue/layout";
import type { SeatCheck } from "./bookings";
import type { FeedHost } from "./feed";
import * as q from "./queries";
import { SeatIndex } from "./seat-index";
import { filterNumbers, seatMapJson, type FilterNumbers, type SeatFrame } from "./seat-map";
import type { Failure, Origin, SeatFilter, SeatSelection, SelectedSeat, ShowLayout, SummaryPush } from "./types";

/** Seats one hold or group booking may name when the show sets no limit of its own. */
export const DEFAULT_MAX_SEATS_PER_ORDER = 10;

/**
 * A show's name, layout and seat map, as the object keeps them in memory: the show's row and the
 * seat index (places, categories and statuses; see `SeatIndex`) are built once per layout
 * version, and the seat map's and plan's JSON once per change rather than once per read.
 */
export class Seating implements FeedHost, SeatCheck {
  /** Reads of the seat map, its statuses or its frame served since the object started, for its `stats()`. */
  reads = 0;
  /** The show's row; null until the show is created. */
  info: q.ShowRow | null = null;
  private index_: SeatIndex | null = null;
  private mapCache: { version: number; json: string } | null = null;
  private statusesCache: { version: number; json: string } | null = null;
  private planCache: { layout: number; json: string } | null = null;
  private frameCache: { layout: number; frame: SeatFrame; json: string | null } | null = null;
  private layoutCache: LayoutMessage | null = null;
  private snapshotCache: SnapshotMessage | null = null;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly clock: () => number,
  ) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** The seat index, current up to the last logged change (the show exists). */
  private get index(): SeatIndex {
    this.index_!.sync();
    return this.index_!;
  }

  /** Reads the show and its layout again, after start-up or a layout change. */
  load(): void {
    this.reread();
    this.index_ = this.info === null ? null : new SeatIndex(this.sql, this.clock());
  }

  /** Reads the show's row again, and forgets everything built from it; the seats stay as they are. */
  private reread(): void {
    this.info = q.readShow(this.sql);
    this.mapCache = null;
    this.statusesCache = null;
    this.planCache = null;
    this.frameCache = null;
    this.layoutCache = null;
    this.snapshotCache = null;
  }

  /**
   * Creates the show or changes its name, plan and order limit. Seats keep their bookings; a
   * layout that leaves out a booked or held seat is refused as a whole. A block on a dropped seat
   * goes, and the log says so. The show as it is already (a PUT repeated) changes nothing: no new
   * layout version, so no copy or live watcher starts again (`changed` is false).
   */
  apply(layout: ShowLayout, origin: Origin, now: number): Failure | { changed: boolean } {
    const digest = layout.planDigest ?? null;
    // The plan the show has, sent again: only the name and the order limit can change, and no seat
    // is read or written (a full re-import of 100,000 seats took the object a second).
    if (this.info !== null && digest !== null && this.info.plan_digest === noted(digest, this.info.layout_version)) {
      return this.rename(layout, now, digest);
    }
    const venue = layoutFromPlan(JSON.parse(new TextDecoder().decode(layout.plan)) as Plan);
    if (this.info !== null) {
      // The venue (seats, categories, focal point) is made from the plan, which is stored as this
      // JSON. One that differs only in its name (a flat list's plan is named as its show) is stored
      // as it is, its seats left as they are.
      const [json, stored] = [JSON.stringify(venue.plan), q.planJson(this.sql)];
      const rest = afterName(json);
      if (json === stored || (rest !== null && rest === afterName(stored))) {
        // The same plan, laid out under other rules (see LAYOUT_RULES), may split its rows or place
        // its stage otherwise; its seats are the same, so they are laid out again where they stand.
        const otherRules = !this.info.plan_digest?.startsWith(ruled(""));
        if (otherRules && this.storage.transactionSync(() => layOutStoredAgain(this.sql, venue))) this.load();
        return this.rename(layout, now, digest, json === stored ? undefined : json);
      }
    }
    const wanted = new Set(venue.seats.map((seat) => seat.id));
    const statuses = q.seatStatuses(this.sql, { now });
    const inUse = statuses
      .filter((seat) => !wanted.has(seat.seat_id) && (seat.status === "booked" || seat.status === "held"))
      .map((seat) => publicId(seat.seat_id));
    if (inUse.length > 0) return { ok: false, reason: "seats_in_use", seat_ids: inUse };

    const maxSeatsPerOrder = layout.maxSeatsPerOrder ?? this.info?.max_seats_per_order ?? DEFAULT_MAX_SEATS_PER_ORDER;
    this.storage.transactionSync(() => {
      q.upsertShow(this.sql, { showId: layout.showId, name: layout.name, maxSeatsPerOrder, at: now });
      for (const { seat_id: seat, status } of statuses) {
        if (wanted.has(seat)) continue;
        if (status === "blocked") {
          const note = "seat removed from the layout";
          q.audit(this.sql, { seat, from: "blocked", to: "available", origin, at: now, note });
        }
        q.dropSeat(this.sql, { seat });
      }
      storeVenue(this.sql, venue);
      q.notePlanDigest(this.sql, { digest: ruled(digest) });
    });
    this.load();
    return { changed: true };
  }

  /**
   * Gives the show, whose seats stay as they are, `layout`'s name and order limit, and `plan` (its
   * plan renamed) if given: a new layout version, as any change of what the map shows, but the
   * seats and their index as they were. The plan's `digest` is noted for the next `PUT`.
   */
  private rename(layout: ShowLayout, now: number, digest: string | null, plan?: string): { changed: boolean } {
    const { name, max_seats_per_order: limit, plan_digest: stored, layout_version: version } = this.info!;
    const maxSeatsPerOrder = layout.maxSeatsPerOrder ?? limit;
    const changed = layout.name !== name || maxSeatsPerOrder !== limit || plan !== undefined;
    if (!changed && (digest === null || stored === noted(digest, version))) return { changed: false };
    this.storage.transactionSync(() => {
      if (changed) q.upsertShow(this.sql, { showId: layout.showId, name: layout.name, maxSeatsPerOrder, at: now });
      if (plan !== undefined) q.replacePlan(this.sql, { json: plan });
      q.notePlanDigest(this.sql, { digest: ruled(digest) });
    });
    this.reread();
    return { changed };
  }

  /** Failure naming the seats the layout does not have, or null when it has them all. */
  unknownSeats(seatIds: Id[]): Failure | null {
    const unknown = seatIds.filter((seatId) => !this.index_!.has(seatId));
    return unknown.length > 0 ? { ok: false, reason: "unknown_seats", seat_ids: unknown.map(publicId) } : null;
  }

  /** Null when every seat exists and is available; otherwise the failure naming the others. */
  refuseUnlessAvailable(seatIds: Id[], now: number): Failure | null {
    const unknown = this.unknownSeats(seatIds);
    if (unknown) return unknown;
    const unavailable = seatIds.filter((seat) => q.seatStatus(this.sql, { seat, now }) !== "available");
    return unavailable.length > 0 ? { ok: false, reason: "unavailable", seat_ids: unavailable.map(publicId) } : null;
  }

  /** Whether every seat was free when the index last looked (see `SeatCheck`; the seats exist). */
  seemFree(seatIds: Id[]): boolean {
    const index = this.index_!;
    return seatIds.every((seat) => index.statusOf(index.placeOf(seat)) === "available");
  }

  /** Applies the changes logged since the index last looked. */
  catchUp(): void {
    this.index_!.sync();
  }

  /**
   * Like `refuseUnlessAvailable`, for a buyer's order: no more seats than the show's limit, and,
   * with an admission pass, no more than the limit under that pass in all (held or booked).
   */
  refuseOrder(seatIds: Id[], now: number, pass?: string | null): Failure | null {
    return this.refuseSize(seatIds.length, now, pass) ?? this.refuseUnlessAvailable(seatIds, now);
  }

  /** `refuseOrder` but for whether the seats are free, which a sale's own statement checks. */
  refuseSizeOrUnknown(seatIds: Id[], now: number, pass?: string | null): Failure | null {
    return this.refuseSize(seatIds.length, now, pass) ?? this.unknownSeats(seatIds);
  }

  private refuseSize(count: number, now: number, pass?: string | null): Failure | null {
    const limit = this.info!.max_seats_per_order;
    if (count > limit) return { ok: false, reason: "order_too_large", limit };
    if (pass == null) return null;
    if (q.passRevoked(this.sql, { ticket: pass })) return { ok: false, reason: "pass_revoked" };
    const used = q.seatsUnderPass(this.sql, { pass, now });
    return used + count > limit ? { ok: false, reason: "pass_used_up", limit, used } : null;
  }

  /**
   * The seats a hold asks for: the ones it names, if all are free, or the best block of adjacent
   * free seats (see `bestBlock`). Either way the caller writes them in the same synchronous call,
   * and the database checks each seat again as it does.
   */
  choose(selection: SeatSelection, now: number, pass?: string | null): Id[] | Failure {
    if ("seatIds" in selection) return this.refuseOrder(selection.seatIds, now, pass) ?? selection.seatIds;
    const { count, category, zone } = selection.best;
    const refused = this.refuseSize(count, now, pass);
    if (refused) return refused.reason === "order_too_large" ? { ...refused, field: "best_available.count" } : refused;
    const filter = this.filterNumbers({ category, zone });
    if ("ok" in filter) return filter;
    const chosen = this.index.bestAvailable(count, filter.category, filter.zone);
    if (chosen === null) return { ok: false, reason: "no_adjacent_seats" };
    // The index chose them; the database, the truth, checks them as for any named seats.
    return this.refuseUnlessAvailable(chosen, now) ?? chosen;
  }

  /** Where each seat is, for a buyer: id, label, zone, row, number and category. */
  describe(seatIds: Id[]): SelectedSeat[] {
    return seatIds.map((seat) => {
      const details = this.index_!.details(seat);
      return { ...details, seat_id: publicId(seat), label: seatLabel(details) };
    });
  }

  /**
   * The seat map as JSON text at `version` (the last change), made from the frame and the
   * statuses as the Worker makes it (see `seatMapJson`); the whole map is reused until a seat
   * changes. The caller has swept expired holds, so nothing changes a status without a new
   * version.
   */
  json(version: number, filter: SeatFilter = {}): string | Failure {
    this.reads++;
    const wanted = this.filterNumbers(filter);
    if ("ok" in wanted) return wanted;
    const build = () =>
      seatMapJson(this.frame(), this.snapshotMessage(version).statuses, this.index.categoryCounts(), wanted);
    if (filter.category !== undefined || filter.zone !== undefined) return build();
    if (this.mapCache?.version !== version) this.mapCache = { version, json: build() };
    return this.mapCache.json;
  }

  /** The seat map's frame as JSON text (see `SeatFrame`), built once per layout version. */
  frameJson(): string {
    this.reads++;
    const frame = this.frame();
    // Written out only for the Worker: best available reads the frame's names, not its JSON.
    this.frameCache!.json ??= JSON.stringify(frame);
    return this.frameCache!.json;
  }

  /** Name, seat ids, categories and zones in plan order: the part of the seat map that only a new layout changes. */
  private frame(): SeatFrame {
    const { show_id, name, layout_version } = this.info!;
    if (this.frameCache?.layout !== layout_version) {
      const index = this.index_!;
      const places = index.places();
      const frame: SeatFrame = {
        show_id: publicId(show_id),
        layout: layout_version,
        name,
        seat_ids: index.ids.map(publicId),
        seat_categories: places.categories,
        seat_zones: places.zones,
        categories: index.categories.map((category) => category.name),
        zones: index.zones,
      };
      this.frameCache = { layout: layout_version, frame, json: null };
    }
    return this.frameCache.frame;
  }

  /** The ETag of a read at `version`: the layout version and the last change. */
  etag(version: number): string {
    return `"${this.info!.layout_version}.${version}"`;
  }

  /** `{show_id, name, layout, version, statuses, categories, zones}`: the snapshot's statuses and the counts per category and zone; built once per version. */
  statusesJson(version: number): string {
    this.reads++;
    if (this.statusesCache?.version !== version) {
      const { layout, statuses } = this.snapshotMessage(version);
      const categories = this.index.categoryCounts();
      const zones = this.index.zoneCounts();
      const json = JSON.stringify({
        show_id: publicId(this.info!.show_id),
        name: this.info!.name,
        layout,
        version,
        statuses,
        categories,
        zones,
      });
      this.statusesCache = { version, json };
    }
    return this.statusesCache.json;
  }

  /** `{show_id, layout, plan}` as JSON text, built once per layout version. */
  planJson(): string {
    const { show_id, layout_version } = this.info!;
    if (this.planCache?.layout !== layout_version) {
      const { max_seats_per_order } = this.info!;
      const head = JSON.stringify({ show_id: publicId(show_id), layout: layout_version, max_seats_per_order });
      // The stored plan is JSON already; splicing it in saves parsing a plan of megabytes.
      this.planCache = { layout: layout_version, json: `${head.slice(0, -1)},"plan":${q.planJson(this.sql)}}` };
    }
    return this.planCache.json;
  }

  layoutVersion(): number {
    return this.info!.layout_version;
  }

  /** The seat's number in plan order, or -1. */
  placeOf(seat: Id): number {
    return this.index_?.placeOf(seat) ?? -1;
  }

  /** The live feed's layout message: the layout version and seat count (the plan says where each seat is). */
  layoutMessage(): LayoutMessage {
    const { show_id, name, layout_version } = this.info!;
    this.layoutCache ??= {
      type: "layout",
      layout: layout_version,
      show_id: publicId(show_id),
      name,
      seat_count: this.index_!.size,
    };
    return this.layoutCache;
  }

  /** Every seat's status as one character each, in plan order, at `version`; built once per version. */
  snapshotMessage(version: number): SnapshotMessage {
    if (this.snapshotCache?.version !== version) {
      this.snapshotCache = {
        type: "snapshot",
        layout: this.info!.layout_version,
        version,
        statuses: this.index.statusString(STATUS_CODES),
      };
    }
    return this.snapshotCache;
  }

  /** Name, capacity, free seats and free seats per category, and the state they describe (the show exists). */
  summary(version = q.latestChange(this.sql)): SummaryPush {
    const { show_id, name, layout_version } = this.info!;
    const categories = this.index.categoryCounts();
    const capacity = this.index.size;
    const available = categories.reduce((sum, category) => sum + category.available, 0);
    return { showId: show_id, name, capacity, available, categories, layout: layout_version, version };
  }

  /** A `?category=`/`?zone=` filter as numbers (-1: any), or the failure naming what the plan lacks. */
  private filterNumbers(filter: SeatFilter): FilterNumbers | Failure {
    return filterNumbers(this.frame(), filter);
  }
}

/** Writes a layout's seats, categories, plan and focal point (inside the caller's transaction). */
function storeVenue(sql: SqlStorage, venue: VenueLayout): void {
  venue.seats.forEach((seat, position) => q.placeSeat(sql, { seat, position }));
  q.replaceCategories(sql, { categories: venue.categories });
  q.replacePlan(sql, { json: JSON.stringify(venue.plan) });
  q.setFocal(sql, venue.focal);
}

/**
 * How plans are laid out (`layoutFromPlan`): one more whenever that changes what a plan makes, so
 * that a plan noted under other rules is laid out again when it is sent again.
 */
// 2: a row's spacing from its seats in place as well as as listed, never 0. 3: the stage is an area
// whose text has "stage" as a word ("Backstage" is not it).
export const LAYOUT_RULES = 3;

/**
 * The plan digest as the show notes it (see `ShowLayout.planDigest`): with the layout rules, and
 * the layout version it was noted at. Any change of the layout moves the version (code of an
 * earlier deploy too, which knows nothing of digests), so a digest noted before it is never taken
 * for the plan the show has after it.
 */
function noted(digest: string, version: number): string {
  return `${ruled(digest)}@${version}`;
}

/** The digest with the layout rules it is noted under (see `noted`; the version is added as it is stored). */
function ruled<D extends string | null>(digest: D): D {
  return (digest === null ? null : `${LAYOUT_RULES}:${digest}`) as D;
}

/** A laid-out plan's JSON after its name, which comes first (see `layoutFromPlan`); null if it does not. */
function afterName(json: string): string | null {
  const start = '{"name":"';
  if (!json.startsWith(start)) return null;
  for (let i = start.length; i < json.length; i++) {
    if (json[i] === "\\") i++;
    else if (json[i] === '"') return json.slice(i + 1);
  }
  return null;
}

/**
 * Migration 12's data step: lays the stored plan out again, so that a show imported before a
 * polygon stage was taken at its centre, and before rows of two could set the usual spacing among
 * themselves, gets the focal point and the runs an import gives it now. Only runs that changed are
 * written; the seat map and its layout version stay as they are (neither shows either).
 */
export function layOutAgain(sql: SqlStorage): void {
  if (q.showName(sql) === null) return;
  layOutStoredAgain(sql, layoutFromPlan(JSON.parse(q.planJson(sql)) as Plan));
}

/**
 * Writes the focal point and the runs `venue` (the stored plan, laid out again) gives the show,
 * where they differ; true when any did. Only best available reads either: the map and the plan
 * are unchanged.
 */
function layOutStoredAgain(sql: SqlStorage, venue: VenueLayout): boolean {
  const focal = q.focal(sql);
  const focalMoved = focal.x !== venue.focal.x || focal.y !== venue.focal.y;
  if (focalMoved) q.setFocal(sql, venue.focal);
  const runs = new Map(q.placedSeats(sql).map((row) => [row.seat_id, row.run]));
  const moved = venue.seats.filter(({ id, run }) => runs.get(id) !== run);
  for (const { id, run } of moved) q.setRun(sql, { seat: id, run });
  return focalMoved || moved.length > 0;
}

/**
 * Migration 8's data step: a show made before plans gets the plan of its flat seat list (rows of
 * ten in list order; see `flatPlan`), so that every show has one.
 */
export function planLegacySeats(sql: SqlStorage): void {
  const name = q.showName(sql);
  if (name === null) return;
  storeVenue(sql, layoutFromPlan(flatPlan(name, q.seatIds(sql))));
}
