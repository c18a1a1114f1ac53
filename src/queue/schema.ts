import type { Migration } from "../storage/migrations";

/** A queue shard's schema: its tickets. Append new migrations; never edit applied ones. */
export const SHARD_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "tickets",
    sql: `
      CREATE TABLE tickets (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL,
        -- The ticket's place in the order: random in [0, 1) when it joined before opening, so
        -- the pre-queue is drawn at random; 1 + ms after opening for the others, first come
        -- first served.
        ord REAL NOT NULL,
        joined_at INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('waiting', 'admitted', 'left')),
        admitted_at INTEGER,
        -- Polls before this (less some slack) are refused with 429.
        next_poll_at INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX tickets_in_order ON tickets (state, ord);
      CREATE TABLE shard (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        -- Admitted buyers who left before their pass ran out, not yet reported to the room.
        freed INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO shard (singleton) VALUES (1);
    `,
  },
  {
    id: 2,
    name: "when each ticket was told to come back",
    sql: `
      -- The time the ticket was told to poll again (next_poll_at is a little earlier, to allow for
      -- drift). A ticket that has not polled well after this is taken for gone.
      ALTER TABLE tickets ADD COLUMN due_at INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 3,
    name: "when each ticket left, so that left tickets can be forgotten",
    sql: `
      ALTER TABLE tickets ADD COLUMN left_at INTEGER;
      CREATE INDEX tickets_left ON tickets (left_at) WHERE left_at IS NOT NULL;
    `,
    // Tickets that left before this are taken to have left now: one that left a moment ago keeps
    // its ten minutes (a second DELETE after a 503 still revokes its pass).
    data: (sql) => sql.exec("UPDATE tickets SET left_at = ? WHERE state = 'left'", Date.now()),
  },
  {
    id: 4,
    name: "waiting tickets counted from the index alone",
    // Counts of the tickets ahead (every poll, on every shard) and the heads each tick skip the
    // tickets taken for gone by their due_at: with it in the index, they never read the table.
    // (Since heads count only tickets that joined before the tick, they read each head's row for
    // its joined_at too: a row per head, about 0.05 ms more for 1,000 heads.)
    sql: `
      CREATE INDEX tickets_waiting ON tickets (state, ord, due_at);
      DROP INDEX tickets_in_order;
    `,
  },
  {
    id: 5,
    name: "waiting tickets by when they were due, so that long-gone ones can be forgotten",
    sql: `CREATE INDEX tickets_due ON tickets (due_at) WHERE state = 'waiting';`,
  },
  {
    id: 6,
    name: "the client address (hashed) of each waiting ticket, for the limit of tickets one address may have",
    sql: `
      ALTER TABLE tickets ADD COLUMN client TEXT;
      CREATE INDEX tickets_by_client ON tickets (client) WHERE state = 'waiting' AND client IS NOT NULL;
    `,
  },
  {
    id: 7,
    name: "the time the room was turned on that the shard's tickets joined under",
    // Null (a shard from before this) takes the session of the first call it gets as its own.
    sql: `ALTER TABLE shard ADD COLUMN session INTEGER;`,
  },
];

/** A waiting room's schema: its settings and where admission has got to. */
export const ROOM_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: "room",
    sql: `
      CREATE TABLE room (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        show_id TEXT NOT NULL,
        opens_at INTEGER NOT NULL,
        admit_per_minute INTEGER NOT NULL,
        session_minutes INTEGER NOT NULL,
        shards INTEGER NOT NULL,
        -- Every ticket whose ord is at most this is admitted.
        watermark REAL NOT NULL DEFAULT -1,
        -- Admission up to the last tick, and the fraction of a buyer owed from it.
        last_tick INTEGER NOT NULL,
        carry REAL NOT NULL DEFAULT 0,
        admitted INTEGER NOT NULL DEFAULT 0
      );
    `,
  },
  {
    id: 2,
    name: "which time the room was turned on",
    sql: `ALTER TABLE room ADD COLUMN session INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    id: 3,
    name: "where places after opening count from, which a new opening time never moves later",
    // Null (a room turned on before this) counts from opens_at, as places always did.
    sql: `ALTER TABLE room ADD COLUMN places_from INTEGER;`,
  },
  {
    id: 4,
    name: "the last time the room was turned on, kept while it is off",
    // So that the next time it is turned on has a later session, whatever the clock does.
    sql: `CREATE TABLE last_session (singleton INTEGER PRIMARY KEY CHECK (singleton = 1), session INTEGER NOT NULL);`,
  },
];
