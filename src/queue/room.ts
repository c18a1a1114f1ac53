import { DurableObject } from "cloudflare:workers";
import type { Id } from "../ids";
import { applyMigrations, hasBeenMigrated } from "../storage/migrations";
import { ROOM_MIGRATIONS } from "./schema";
import type { RoomConfig, RoomStatus } from "./types";

/** How often the room lets buyers in, in ms: `admit_per_minute` is spread over the minute this finely. */
export const TICK_MS = 1000;
/** How often the room has its shards forget abandoned tickets before it opens (see `QueueShard.sweep`). */
export const SWEEP_BEFORE_OPENING_MS = 60_000;

interface RoomRow extends Record<string, SqlStorageValue> {
  show_id: string;
  opens_at: number;
  admit_per_minute: number;
  session_minutes: number;
  shards: number;
  session: number;
  places_from: number | null;
  watermark: number;
  last_tick: number;
  carry: number;
  admitted: number;
}

/** The name of shard `k` of a show's queue. */
export function shardName(showId: Id, shard: number): string {
  return `${showId}#${shard}`;
}

/**
 * A show's waiting room: its settings, and admission. Tickets live in the queue's shards
 * (`QueueShard`); the room keeps one number, the watermark, and every ticket whose order key is at
 * most that is admitted. On an alarm every TICK_MS it works out how many buyers the rate allows
 * since the last tick (plus the slots of admitted buyers who left), asks every shard for its first
 * waiting keys, merges them, and moves the watermark to the n-th smallest: so admission follows
 * the order across all shards, and never runs faster than `admit_per_minute`.
 */
export class WaitingRoom extends DurableObject<Env> {
  /** Where the object reads the time. Tests replace it to drive opening and admission. */
  clock: () => number = Date.now;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      if (!hasBeenMigrated(ctx.storage)) return;
      applyMigrations(ctx.storage, ROOM_MIGRATIONS);
      await this.tickSoonBeforeOpening();
    });
  }

  /**
   * A room turned on before rooms ticked ahead of their opening has its alarm set for the opening
   * itself: on its first wake it ticks within a minute, so that its abandoned tickets are forgotten.
   */
  private async tickSoonBeforeOpening(): Promise<void> {
    const row = this.row();
    const now = this.clock();
    if (row === null || now >= row.opens_at) return;
    const soon = Math.min(row.opens_at, now + SWEEP_BEFORE_OPENING_MS);
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > soon) await this.ctx.storage.setAlarm(soon);
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  private row(): RoomRow | null {
    if (!hasBeenMigrated(this.ctx.storage)) return null;
    return this.sql.exec<RoomRow>("SELECT * FROM room").toArray()[0] ?? null;
  }

  /** Whether the room is on, and how. */
  status(): RoomStatus {
    const row = this.row();
    if (row === null) return { on: false };
    return {
      on: true,
      opensAt: row.opens_at,
      admitPerMinute: row.admit_per_minute,
      sessionMinutes: row.session_minutes,
      shards: row.shards,
      session: row.session,
      placesFrom: row.places_from ?? row.opens_at,
    };
  }

  /**
   * Turns the room on, or changes its settings. A room that was off starts empty; one that is on
   * keeps its queue and where admission has got to (the shard count stays as it was).
   */
  async configure(showId: Id, config: RoomConfig, shards: number): Promise<{ created: boolean; status: RoomStatus }> {
    applyMigrations(this.ctx.storage, ROOM_MIGRATIONS);
    const now = this.clock();
    const existing = this.row();
    if (existing === null) {
      // A room turned on after its opening time admits from now on, not for the time before; and
      // nobody joins before the room is on, so places never count from earlier than that either.
      const onFrom = Math.max(config.opensAt, now);
      // Later than the last time it was on, whatever the clock does: the shards take a session
      // earlier than their tickets' for a call from before the room was last turned on (see `QueueShard.enter`).
      const last = this.sql.exec<{ session: number }>("SELECT session FROM last_session").toArray()[0]?.session;
      const session = last === undefined ? now : Math.max(now, last + 1);
      this.sql.exec(
        `INSERT INTO room (singleton, show_id, opens_at, admit_per_minute, session_minutes, shards, last_tick, session, places_from)
         VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)`,
        showId,
        config.opensAt,
        config.admitPerMinute,
        config.sessionMinutes,
        shards,
        onFrom,
        session,
        onFrom,
      );
    } else {
      // A new opening time starts admission again from the first place. Places after opening keep
      // counting from the earliest opening the room has had (or from when it was turned on, if
      // later: so that a mistyped year cannot make places too large to tell apart), so that an
      // opening moved later puts no one who joins after it ahead of someone who joined after the old one.
      this.sql.exec(
        `UPDATE room SET admit_per_minute = ?, session_minutes = ?, last_tick = MAX(last_tick, ?),
                         watermark = CASE WHEN opens_at = ? THEN watermark ELSE -1 END,
                         places_from = MIN(COALESCE(places_from, opens_at), MAX(session, ?)), opens_at = ?`,
        config.admitPerMinute,
        config.sessionMinutes,
        config.opensAt,
        config.opensAt,
        config.opensAt,
        config.opensAt,
      );
    }
    // Before opening the room still ticks, once a minute, to have abandoned tickets forgotten.
    await this.ctx.storage.setAlarm(Math.max(now, Math.min(config.opensAt, now + SWEEP_BEFORE_OPENING_MS)));
    const status = this.status();
    if (existing === null && status.on) {
      // Each shard hears of the new on-sale now (one that does not hears at its first call of it).
      const opened = await Promise.allSettled(this.shards(showId, shards).map((shard) => shard.open(status.session)));
      logMissed("opening", showId, missed(opened));
    }
    return { created: existing === null, status };
  }

  /**
   * Turns the room off: bookings need no pass any more, and every ticket is forgotten. The shards
   * are told now, to free their storage; one that does not hear (it is overloaded, say) forgets its
   * tickets when it next hears from the room, which will have been turned on again (see
   * `QueueShard.enter`), and nobody can reach them meanwhile: a ticket of a room that is off is
   * not found.
   */
  async disable(): Promise<boolean> {
    const row = this.row();
    if (row === null) return false;
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM room");
      this.sql.exec("INSERT OR REPLACE INTO last_session (singleton, session) VALUES (1, ?)", row.session);
    });
    await this.ctx.storage.deleteAlarm();
    const cleared = await Promise.allSettled(
      this.shards(row.show_id, row.shards).map((shard) => shard.clear(row.session)),
    );
    logMissed("clear", row.show_id, missed(cleared));
    return true;
  }

  /** How many buyers the room has let in, as of which tick, and where the watermark is: for tests and the benchmark. */
  stats(): { admitted: number; lastTick: number; watermark: number } | null {
    const row = this.row();
    return row === null ? null : { admitted: row.admitted, lastTick: row.last_tick, watermark: row.watermark };
  }

  /** One tick of admission (see the class comment); sets the next while the room is on. */
  override async alarm(): Promise<void> {
    const row = this.row();
    if (row === null) return;
    const now = this.clock();
    const shards = this.shards(row.show_id, row.shards);
    if (now < row.opens_at) {
      // Nobody is let in before opening, but abandoned tickets are forgotten all the same.
      const swept = await Promise.allSettled(shards.map((shard) => shard.sweep(now, row.session)));
      logMissed("sweep", row.show_id, missed(swept));
      const current = this.row();
      if (current !== null) await this.ctx.storage.setAlarm(Math.min(current.opens_at, now + SWEEP_BEFORE_OPENING_MS));
      return;
    }
    const owed = row.carry + (row.admit_per_minute * (now - row.last_tick)) / 60_000;
    const quota = Math.floor(owed);
    let carry = owed - quota;
    let watermark = row.watermark;
    // Only a watermark chosen this tick admits: an old one could cover places given out since.
    let admitUpTo = -1;
    let admitted = 0;
    // How many each shard lets in: its share of the quota's heads. Tickets passed over that came back
    // since have places below the watermark, and must not all come in at once, past the rate.
    const shares = shards.map(() => 0);
    // Shards that did not answer this tick: they admit nobody in it (see below).
    const unanswered = new Set<number>();
    if (quota > 0) {
      // A shard that does not say who heads it is passed over this tick, its buyers kept in their
      // places: their keys are the lowest when it answers again, so they come in first then. Failing
      // the tick instead would stop the room for everyone once the alarm's retries ran out.
      // Only tickets that had joined by the millisecond this tick began (see `QueueShard.heads`).
      const asked = await Promise.allSettled(shards.map((shard) => shard.heads(quota, now, row.session)));
      const heads = asked
        .flatMap((result, k) => {
          if (result.status === "fulfilled") return result.value.map((ord) => ({ ord, k }));
          unanswered.add(k);
          return [];
        })
        .sort((a, b) => a.ord - b.ord)
        .slice(0, quota);
      for (const { k } of heads) shares[k]!++;
      if (heads.length > 0) watermark = admitUpTo = Math.max(watermark, heads.at(-1)!.ord);
      // Unused quota is not saved up: a quiet minute does not let a burst in later.
      if (heads.length < quota) carry = 0;
    }
    const results = await Promise.allSettled(
      shards.map((shard, k) => shard.admit(admitUpTo, now, shares[k], now, row.session)),
    );
    // A buyer who left early gives their slot to the next buyer, at the next tick.
    let freed = 0;
    // A shard that did not answer is taken to have admitted nobody (its admission is one
    // statement, so it did all or none): its share is owed at the next tick. At worst (the answer
    // was lost after the shard admitted) that share comes in twice; retrying the whole tick, as a
    // failed alarm is, admitted every shard's share twice.
    for (const [k, result] of results.entries()) {
      if (result.status === "fulfilled") {
        [admitted, freed] = [admitted + result.value.admitted, freed + result.value.freed];
      } else {
        unanswered.add(k);
        carry += shares[k]!;
      }
    }
    logMissed(
      "tick",
      row.show_id,
      [...unanswered].sort((a, b) => a - b),
    );
    // The room may have been turned off, on again or changed while the shards answered.
    const current = this.row();
    if (current === null || current.session !== row.session) return;
    if (current.opens_at !== row.opens_at || current.watermark !== row.watermark) {
      // New settings meanwhile, whose watermark reset stands; what the shards let in, and the time
      // it was owed for, are counted all the same, so that the next tick does not let it in again.
      this.sql.exec(
        "UPDATE room SET last_tick = MAX(last_tick, ?), carry = ?, admitted = admitted + ?",
        now,
        carry + freed,
        admitted,
      );
      await this.ctx.storage.setAlarm(now + TICK_MS);
      return;
    }
    this.sql.exec(
      "UPDATE room SET watermark = ?, last_tick = ?, carry = ?, admitted = admitted + ?",
      watermark,
      now,
      carry + freed,
      admitted,
    );
    await this.ctx.storage.setAlarm(now + TICK_MS);
  }

  private shards(showId: Id, count: number) {
    return Array.from({ length: count }, (_, k) => this.env.QUEUE_SHARD.getByName(shardName(showId, k)));
  }
}

/** Logs the shards that did not answer a tick or a sweep, if any did not. */
function logMissed(what: "tick" | "sweep" | "clear" | "opening", showId: Id, shards: number[]): void {
  if (shards.length === 0) return;
  console.error(JSON.stringify({ message: `queue shards missed a ${what}`, show_id: showId, shards }));
}

/** The shards whose call failed. */
function missed(results: PromiseSettledResult<unknown>[]): number[] {
  return results.flatMap((result, k) => (result.status === "rejected" ? [k] : []));
}
