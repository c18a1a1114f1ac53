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
  {
    id: 2,
    name: "each show's summary, pushed by the show",
    sql: `
      ALTER TABLE shows ADD COLUMN name TEXT NOT NULL DEFAULT '';
      ALTER TABLE shows ADD COLUMN capacity INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE shows ADD COLUMN available INTEGER NOT NULL DEFAULT 0;
      -- Which state of the show the summary describes: its layout version, then its last change.
      -- 0 means no summary yet (a show registered before summaries were kept).
      ALTER TABLE shows ADD COLUMN layout INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE shows ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX shows_in_list_order ON shows (created_at, show_id);
    `,
  },
  {
    id: 3,
    name: "available seats per category",
    sql: `ALTER TABLE shows ADD COLUMN categories TEXT NOT NULL DEFAULT '[]';`,
  },
];
