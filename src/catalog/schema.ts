import type { Migration } from "../storage/migrations";

/** The catalog's schema. Append new migrations; never edit applied ones. */
export const CATALOG_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "shows",
    sql: `
      CREATE TABLE shows (
        show_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
      );
    `,
  },
];
