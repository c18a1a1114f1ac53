import { Catalog } from "../catalog/catalog";
import type { Id } from "../ids";

/** The Durable Object that owns a show: one per show id, everywhere. */
export function showObject(env: Env, showId: Id) {
  return env.SHOW.getByName(showId);
}

export function catalogObject(env: Env) {
  return env.CATALOG.getByName(Catalog.NAME);
}
