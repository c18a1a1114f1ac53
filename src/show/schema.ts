import type { Migration } from "../storage/migrations";

/** The Show object's schema. Append new migrations; never edit applied ones. */
export const SHOW_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "show, seats and bookings",
    sql: `
      CREATE TABLE show (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        show_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE seats (
        seat_id TEXT PRIMARY KEY,
        position INTEGER NOT NULL
      );
      CREATE TABLE bookings (
        id TEXT PRIMARY KEY,
        -- The last guard against a double sale: one booking per seat, whatever the code above does.
        seat_id TEXT NOT NULL UNIQUE REFERENCES seats (seat_id),
        user_id TEXT,
        booked_at INTEGER NOT NULL
      );
    `,
  },
];
