import { DurableObject } from "cloudflare:workers";
import { publicId, type Id } from "../ids";
import type { CategoryCount, ShowSummary, SummaryPush } from "../show/types";
import { applyMigrations } from "../storage/migrations";
import { encodeCursor, type ListPosition } from "./cursor";
import { CATALOG_MIGRATIONS } from "./schema";

export interface ShowPage {
  shows: ShowSummary[];
  /** Pass as `?cursor=` for the next page; null on the last. */
  next_cursor: string | null;
}

interface ShowRow extends Record<string, SqlStorageValue> {
  show_id: string;
  name: string;
  capacity: number;
  available: number;
  /** JSON: `CategoryCount[]`. */
  categories: string;
  layout: number;
  created_at: number;
}

/** How many shows without a summary the catalog asks for theirs at a time (see `alarm`). */
const BACKFILL_BATCH = 20;

/**
 * The one object that knows which shows exist, and what each one looks like in the show list.
 * Shows push their summaries here when they change (coalesced, off the booking's path), so the
 * list is answered by this object alone and never calls a show.
 */
export class Catalog extends DurableObject<Env> {
  /** Every deployment has exactly one catalog, under this name. */
  static readonly NAME = "catalog";

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      applyMigrations(ctx.storage, CATALOG_MIGRATIONS);
      if (this.missingSummaries(1).length > 0) this.scheduleBackfill();
    });
  }

  /** Whether the backfill alarm is set (see `alarm`). */
  private backfilling = false;

  /**
   * Records that a show exists, with its summary. Registering it again only updates the summary.
   * A new show's time is after every listed show's, even in the same millisecond or with the clock
   * set back (the object may wake on another machine): the list's order is the order shows were
   * registered, and a cursor a client holds never stands past a show registered after it was given.
   */
  register(summary: SummaryPush): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO shows (show_id, created_at)
       VALUES (?, MAX(?, COALESCE((SELECT MAX(created_at) FROM shows), -1) + 1))
       ON CONFLICT (show_id) DO NOTHING`,
      summary.showId,
      Date.now(),
    );
    this.updateSummary(summary);
  }

  /** Takes a show's newer summary; one describing an older state than the stored one is ignored. */
  updateSummary({ showId, name, capacity, available, categories, layout, version }: SummaryPush): void {
    this.ctx.storage.sql.exec(
      `UPDATE shows SET name = ?, capacity = ?, available = ?, categories = ?, layout = ?, version = ?
        WHERE show_id = ? AND (layout, version) <= (?, ?)`,
      name,
      capacity,
      available,
      JSON.stringify(categories ?? []),
      layout,
      version,
      showId,
      layout,
      version,
    );
  }

  /** Whether a show with this id was ever created. */
  exists(showId: Id): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM shows WHERE show_id = ?", showId).toArray().length > 0;
  }

  /** One page of shows, in the order they were created, after `after`. */
  page(limit: number, after: ListPosition | null): ShowPage {
    const rows = this.ctx.storage.sql
      .exec<ShowRow>(
        `SELECT show_id, name, capacity, available, categories, layout, created_at FROM shows
          WHERE (created_at, show_id) > (?, ?) ORDER BY created_at, show_id LIMIT ?`,
        after?.createdAt ?? -1,
        after?.showId ?? "",
        limit + 1,
      )
      .toArray();
    const shown = rows.slice(0, limit);
    if (shown.some((row) => row.layout === 0)) this.scheduleBackfill();
    const last = shown.at(-1);
    return {
      shows: shown.map((row) => ({
        show_id: publicId(row.show_id),
        name: row.name,
        capacity: row.capacity,
        available: row.available,
        categories: JSON.parse(row.categories) as CategoryCount[],
      })),
      next_cursor:
        rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, showId: last.show_id }) : null,
    };
  }

  /**
   * Shows registered before summaries were kept have none: ask them, a batch at a time, until
   * every show has one. Runs once after the upgrade, never on a request's path.
   */
  override async alarm(): Promise<void> {
    this.backfilling = false;
    const missing = this.missingSummaries(BACKFILL_BATCH);
    for (const showId of missing) {
      const result = await this.env.SHOW.getByName(showId).summaryPush();
      if (result.ok) this.updateSummary(result.summary);
      // A show that no longer answers with a summary keeps no entry it cannot fill.
      else this.ctx.storage.sql.exec("DELETE FROM shows WHERE show_id = ?", showId);
    }
    if (missing.length === BACKFILL_BATCH) this.scheduleBackfill();
  }

  private scheduleBackfill(): void {
    if (this.backfilling) return;
    this.backfilling = true;
    void this.ctx.storage.setAlarm(Date.now());
  }

  private missingSummaries(limit: number): Id[] {
    return this.ctx.storage.sql
      .exec<{ show_id: string }>("SELECT show_id FROM shows WHERE layout = 0 LIMIT ?", limit)
      .toArray()
      .map((row) => row.show_id);
  }
}
