import { DurableObject } from "cloudflare:workers";
import type { Id } from "../ids";
import { applyMigrations } from "../storage/migrations";
import { CATALOG_MIGRATIONS } from "./schema";

/** The one object that knows which shows exist. Names and seat counts stay with each show. */
export class Catalog extends DurableObject<Env> {
  /** Every deployment has exactly one catalog, under this name. */
  static readonly NAME = "catalog";

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      applyMigrations(ctx.storage, CATALOG_MIGRATIONS);
    });
  }

  /** Records that a show exists. Registering it again changes nothing. */
  register(showId: Id): void {
    this.ctx.storage.sql.exec(
      "INSERT INTO shows (show_id, created_at) VALUES (?, ?) ON CONFLICT (show_id) DO NOTHING",
      showId,
      Date.now(),
    );
  }

  /** Show ids in the order they were created. */
  list(): Id[] {
    return this.ctx.storage.sql
      .exec<{ show_id: string }>("SELECT show_id FROM shows ORDER BY created_at, show_id")
      .toArray()
      .map((row) => row.show_id);
  }
}
