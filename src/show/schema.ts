import type { Migration } from "../storage/migrations";
import { sealLegacyAnswers } from "./idempotency";
import { layOutAgain, planLegacySeats } from "./seating";

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
  {
    id: 2,
    name: "holds, blocks, booking tokens, audit log, idempotency",
    sql: `
      ALTER TABLE bookings ADD COLUMN token_hash TEXT;
      ALTER TABLE bookings ADD COLUMN hold_id TEXT;
      CREATE TABLE holds (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL,
        user_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('active', 'confirmed', 'released', 'expired')),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX holds_active_by_expiry ON holds (expires_at) WHERE state = 'active';
      CREATE TABLE held_seats (
        -- One live hold per seat: the last guard against a seat held twice.
        seat_id TEXT PRIMARY KEY REFERENCES seats (seat_id),
        hold_id TEXT NOT NULL REFERENCES holds (id)
      );
      CREATE INDEX held_seats_by_hold ON held_seats (hold_id);
      CREATE TABLE blocks (
        seat_id TEXT PRIMARY KEY REFERENCES seats (seat_id),
        reason TEXT NOT NULL,
        blocked_at INTEGER NOT NULL
      );
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        seat_id TEXT NOT NULL,
        old_status TEXT NOT NULL,
        new_status TEXT NOT NULL,
        actor TEXT NOT NULL,
        route TEXT NOT NULL,
        ref TEXT,
        note TEXT,
        at INTEGER NOT NULL
      );
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        result TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX idempotency_by_age ON idempotency (created_at);
    `,
  },
  {
    id: 3,
    name: "layout version for the live seat map",
    sql: `ALTER TABLE show ADD COLUMN layout_version INTEGER NOT NULL DEFAULT 1;`,
  },
  {
    id: 4,
    name: "idempotent answers sealed, keyed by a hash of the key",
    sql: `
      CREATE TABLE idempotent_answers (
        -- HKDF of the Idempotency-Key; the key itself is never stored.
        lookup TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        -- The answer, AES-256-GCM under a key derived from the Idempotency-Key: iv || ciphertext || tag.
        sealed BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX idempotent_answers_by_age ON idempotent_answers (created_at);
    `,
    data: sealLegacyAnswers,
  },
  {
    id: 5,
    name: "drop the answers kept in the clear",
    sql: `DROP TABLE idempotency;`,
  },
  {
    id: 6,
    name: "order limit",
    sql: `ALTER TABLE show ADD COLUMN max_seats_per_order INTEGER NOT NULL DEFAULT 10;`,
  },
  {
    id: 7,
    name: "relays that hold the live seat map's watchers",
    sql: `CREATE TABLE live_relays (relay TEXT PRIMARY KEY);`,
  },
  {
    id: 8,
    name: "seating plans: where each seat is, categories, the plan itself",
    sql: `
      ALTER TABLE seats ADD COLUMN zone TEXT NOT NULL DEFAULT '';
      ALTER TABLE seats ADD COLUMN row_label TEXT NOT NULL DEFAULT '';
      ALTER TABLE seats ADD COLUMN seat_number TEXT NOT NULL DEFAULT '';
      ALTER TABLE seats ADD COLUMN category TEXT NOT NULL DEFAULT '';
      ALTER TABLE seats ADD COLUMN x REAL NOT NULL DEFAULT 0;
      ALTER TABLE seats ADD COLUMN y REAL NOT NULL DEFAULT 0;
      -- Seats next to each other in one row with no aisle between them share a run.
      ALTER TABLE seats ADD COLUMN run INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX seats_in_plan_order ON seats (position);
      -- Where the best seats are: the stage's centre, or the front centre.
      ALTER TABLE show ADD COLUMN focal_x REAL NOT NULL DEFAULT 0;
      ALTER TABLE show ADD COLUMN focal_y REAL NOT NULL DEFAULT 0;
      CREATE TABLE categories (
        position INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        color TEXT NOT NULL
      );
      -- The plan as JSON, in parts of at most 500,000 characters (values are limited to 2 MB).
      CREATE TABLE plan_parts (
        part INTEGER PRIMARY KEY,
        text TEXT NOT NULL
      );
    `,
    data: planLegacySeats,
  },
  {
    id: 9,
    name: "the admission pass each hold and booking came with",
    sql: `
      ALTER TABLE holds ADD COLUMN pass TEXT;
      ALTER TABLE bookings ADD COLUMN pass TEXT;
      CREATE INDEX holds_by_pass ON holds (pass) WHERE pass IS NOT NULL;
      CREATE INDEX bookings_by_pass ON bookings (pass) WHERE pass IS NOT NULL;
    `,
  },
  {
    id: 10,
    name: "admission passes given up by buyers who left the queue",
    sql: `CREATE TABLE revoked_passes (ticket TEXT PRIMARY KEY, at INTEGER NOT NULL);`,
  },
  {
    id: 11,
    name: "a sale in one statement",
    // A seat is sold by one INSERT into this view. Its trigger refuses a seat that is not free
    // (blocked, or held by a live hold: the same rule as `seatStatus` in queries.ts; a booked
    // seat is refused by the UNIQUE constraint on bookings.seat_id), stores the booking and logs
    // it. One statement is atomic, so the three need no transaction around them, and nothing can
    // come between the check and the write.
    sql: `
      CREATE VIEW sales AS
        SELECT NULL AS id, NULL AS seat_id, NULL AS user_id, NULL AS at, NULL AS token_hash,
               NULL AS hold_id, NULL AS pass, NULL AS from_status, NULL AS actor, NULL AS route
         WHERE 0;
      CREATE TRIGGER sell_seat INSTEAD OF INSERT ON sales
      BEGIN
        SELECT RAISE(ABORT, 'seat not available')
         WHERE NEW.from_status = 'available'
           AND (EXISTS (SELECT 1 FROM blocks WHERE seat_id = NEW.seat_id)
                OR EXISTS (SELECT 1 FROM held_seats hs JOIN holds h ON h.id = hs.hold_id
                            WHERE hs.seat_id = NEW.seat_id AND h.state = 'active' AND h.expires_at > NEW.at));
        INSERT INTO bookings (id, seat_id, user_id, booked_at, token_hash, hold_id, pass)
        VALUES (NEW.id, NEW.seat_id, NEW.user_id, NEW.at, NEW.token_hash, NEW.hold_id, NEW.pass);
        INSERT INTO audit_log (seat_id, old_status, new_status, actor, route, ref, note, at)
        VALUES (NEW.seat_id, NEW.from_status, 'booked', NEW.actor, NEW.route, NEW.id, NULL, NEW.at);
      END;
    `,
  },
  {
    id: 12,
    name: "plans laid out again: polygon stages' centres, rows of two's aisles",
    sql: "SELECT 1",
    data: layOutAgain,
  },
  {
    id: 13,
    name: "the client address (hashed) of each live hold, for the limit of seats one address may hold",
    sql: `
      ALTER TABLE holds ADD COLUMN client TEXT;
      CREATE INDEX holds_by_client ON holds (client) WHERE state = 'active' AND client IS NOT NULL;
    `,
  },
  {
    id: 14,
    name: "the SHA-256 of the plan as last sent, so that a PUT of the same plan need not parse it",
    sql: `ALTER TABLE show ADD COLUMN plan_digest TEXT;`,
  },
  {
    id: 15,
    name: "the last change every live relay was sent, so that a show that starts resets its relays only when they missed one",
    sql: `ALTER TABLE show ADD COLUMN live_delivered INTEGER;`,
  },
];
