/**
 * A versioned, append-only list of schema changes for one Durable Object's
 * SQLite database. Applied ids are recorded in `_migrations`; an applied
 * migration is never edited, only followed by a new one with a higher id.
 * (`PRAGMA user_version` is not available in Durable Objects.)
 */
export interface Migration {
  /** Strictly increasing; never reused. */
  readonly id: number;
  readonly name: string;
  /** One or more statements, run in order inside the migration's transaction. */
  readonly sql: string;
  /** Moves data the statements cannot, after them and in the same transaction. Synchronous. */
  readonly data?: (sql: SqlStorage) => void;
}

/**
 * Applies every migration not yet recorded, all in one transaction, so an
 * object never starts on a half-migrated schema. Call it from the constructor
 * inside `ctx.blockConcurrencyWhile`.
 */
export function applyMigrations(storage: DurableObjectStorage, migrations: readonly Migration[]): void {
  assertOrdered(migrations);
  const sql = storage.sql;
  storage.transactionSync(() => {
    sql.exec(
      `CREATE TABLE IF NOT EXISTS _migrations (
         id INTEGER PRIMARY KEY,
         name TEXT NOT NULL,
         applied_at INTEGER NOT NULL
       )`,
    );
    const applied = new Set(
      sql
        .exec<{ id: number }>("SELECT id FROM _migrations")
        .toArray()
        .map((row) => row.id),
    );
    for (const migration of migrations) {
      if (applied.has(migration.id)) continue;
      sql.exec(migration.sql);
      migration.data?.(sql);
      sql.exec(
        "INSERT INTO _migrations (id, name, applied_at) VALUES (?, ?, ?)",
        migration.id,
        migration.name,
        Date.now(),
      );
    }
  });
}

function assertOrdered(migrations: readonly Migration[]): void {
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.id <= migrations[i - 1]!.id) {
      throw new Error(`Migration ids must increase: ${migrations[i - 1]!.id} is followed by ${migrations[i]!.id}`);
    }
  }
}

/** Whether this database was ever migrated; asking stores nothing, so an object that was never created stays empty. */
export function hasBeenMigrated(storage: DurableObjectStorage): boolean {
  return (
    storage.sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_migrations'").toArray().length > 0
  );
}
