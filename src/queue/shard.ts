import { DurableObject } from "cloudflare:workers";
import { randomBase64Url, type Id } from "../ids";
import { newToken, tokenMatches } from "../show/tokens";
import { applyMigrations, hasBeenMigrated } from "../storage/migrations";
import { signPass } from "./pass";
import { SHARD_MIGRATIONS } from "./schema";
import type { NewTicket, RoomConfig, TicketResult, TicketStatus, Waiting } from "./types";

/** Tickets one shard holds at most; past that, joining gets 503. */
export const MAX_TICKETS_PER_SHARD = 250_000;
/** A poll this much earlier than its Retry-After allowed is still answered (clocks and networks drift). */
const POLL_SLACK = 0.2;
/** Polls while waiting: about this many before the buyer's turn, however far back they are. */
const POLLS_BEFORE_TURN = 4;
const MAX_RETRY_AFTER_SECONDS = 600;

interface TicketRow extends Record<string, SqlStorageValue> {
  token_hash: string;
  ord: number;
  state: "waiting" | "admitted" | "left";
  admitted_at: number | null;
  next_poll_at: number;
}

/**
 * One shard of a show's queue: the tickets of the buyers who joined through it. A show's queue
 * has `QUEUE_SHARDS` shards, and each join goes to one at random, so joins spread over several
 * objects; the waiting room (`WaitingRoom`) decides who is admitted, by moving a watermark along
 * the tickets' order, and tells every shard.
 */
export class QueueShard extends DurableObject<Env> {
  /** Where the object reads the time. Tests replace it to drive opening and admission. */
  clock: () => number = Date.now;

  /** Breaks ties between tickets that join in the same millisecond, in the order they came. */
  private sequence = 0;
  /** How many tickets the shard holds; null until its schema exists (nobody has joined yet). */
  private held: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // A shard nobody joined has no database, and asking it anything must not make one.
    void ctx.blockConcurrencyWhile(async () => {
      if (hasBeenMigrated(ctx.storage)) this.migrate();
    });
  }

  private migrate(): number {
    applyMigrations(this.ctx.storage, SHARD_MIGRATIONS);
    this.held = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM tickets").one().n;
    return this.held;
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /** Adds a ticket. Before opening its place is drawn at random; after, it is the time it came. */
  join(showId: Id, shard: number, room: RoomConfig & { shards: number }): TicketResult<NewTicket & Waiting> {
    const { opensAt } = room;
    const held = this.held ?? this.migrate();
    if (held >= MAX_TICKETS_PER_SHARD) return { ok: false, reason: "queue_full" };
    const now = this.clock();
    const ord = now < opensAt ? drawnPlace() : 1 + (now - opensAt) + (this.sequence++ % 1000) / 1000 + shard / 100_000;
    const id = `${showId}.${shard}.${randomBase64Url(16)}`;
    const { token, hash } = newToken("qt");
    this.sql.exec(
      "INSERT INTO tickets (id, token_hash, ord, joined_at, state) VALUES (?, ?, ?, ?, 'waiting')",
      id,
      hash,
      ord,
      now,
    );
    this.held = held + 1;
    return { ok: true, ticket_id: id, ticket_token: token, ...this.waiting(id, ord, now, room) };
  }

  /**
   * Where a ticket stands. Waiting: its position (estimated from this shard's share of the
   * queue: exact with one shard) and when to ask again, later the further back it is, so that a
   * crowd of any size polls at a bounded rate. Admitted: its pass, signed with QUEUE_SECRET.
   */
  async poll(
    ticketId: string,
    token: string,
    room: RoomConfig & { shards: number; session: number },
  ): Promise<TicketResult<TicketStatus>> {
    const now = this.clock();
    const row = this.ticket(ticketId);
    if (row === undefined) return { ok: false, reason: "ticket_not_found" };
    if (!tokenMatches(token, row.token_hash)) return { ok: false, reason: "wrong_token" };
    if (row.state === "left") return { ok: false, reason: "ticket_left" };
    if (now < row.next_poll_at) {
      return { ok: false, reason: "too_early", retry_after: Math.ceil((row.next_poll_at - now) / 1000) };
    }
    if (row.state === "admitted") {
      const exp = row.admitted_at! + room.sessionMinutes * 60_000;
      if (exp <= now) return { ok: false, reason: "pass_expired" };
      // An admitted buyer needs their pass once; asking again is allowed once a second.
      this.sql.exec("UPDATE tickets SET next_poll_at = ? WHERE id = ?", now + 1000, ticketId);
      const showId = ticketId.slice(0, ticketId.indexOf("."));
      const claims = { show: showId, ticket: ticketId, exp, room: room.session };
      const pass = await signPass(this.env.QUEUE_SECRET!, claims);
      return { ok: true, state: "admitted", pass, pass_expires_at: new Date(exp).toISOString() };
    }
    return { ok: true, ...this.waiting(ticketId, row.ord, now, room) };
  }

  /**
   * A waiting ticket's position, wait, and when it may poll next: a quarter of its wait, so about
   * POLLS_BEFORE_TURN polls before its turn wherever it stands. Before opening, everyone is told
   * to come back at opening, spread over a few seconds so that the pre-queue does not poll at once.
   */
  private waiting(ticketId: string, ord: number, now: number, room: RoomConfig & { shards: number }): Waiting {
    let position: number | null = null;
    let wait: number;
    let retry: number;
    if (now < room.opensAt) {
      wait = Math.ceil((room.opensAt - now) / 1000);
      retry = wait + 1 + Math.floor(Math.random() * Math.min(30, 1 + wait));
    } else {
      const ahead = this.sql
        .exec<{ n: number }>("SELECT COUNT(*) AS n FROM tickets WHERE state = 'waiting' AND ord < ?", ord)
        .one().n;
      position = ahead * room.shards + 1;
      wait = Math.ceil((position * 60) / room.admitPerMinute);
      retry = Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(wait / POLLS_BEFORE_TURN)));
    }
    // The next poll is welcome a little before the time it is told, but not much.
    this.sql.exec("UPDATE tickets SET next_poll_at = ? WHERE id = ?", now + retry * 1000 * (1 - POLL_SLACK), ticketId);
    return { state: "waiting", position, estimated_wait_seconds: wait, retry_after: retry };
  }

  /** The buyer leaves the queue, or gives up their pass; an admitted buyer's slot goes to the next. */
  leave(ticketId: string, token: string): TicketResult<{ was: "waiting" | "admitted" }> {
    const row = this.ticket(ticketId);
    if (row === undefined) return { ok: false, reason: "ticket_not_found" };
    if (!tokenMatches(token, row.token_hash)) return { ok: false, reason: "wrong_token" };
    if (row.state === "left") return { ok: false, reason: "ticket_left" };
    this.ctx.storage.transactionSync(() => {
      this.sql.exec("UPDATE tickets SET state = 'left' WHERE id = ?", ticketId);
      if (row.state === "admitted") this.sql.exec("UPDATE shard SET freed = freed + 1");
    });
    return { ok: true, was: row.state };
  }

  /** The order keys of the first `limit` waiting tickets, for the room to merge with the other shards'. */
  heads(limit: number): number[] {
    if (this.held === null) return [];
    return this.sql
      .exec<{ ord: number }>("SELECT ord FROM tickets WHERE state = 'waiting' ORDER BY ord LIMIT ?", limit)
      .toArray()
      .map((row) => row.ord);
  }

  /** Admits every waiting ticket up to the watermark; says how many, and how many slots were freed since. */
  admit(watermark: number, at: number): { admitted: number; freed: number } {
    if (this.held === null) return { admitted: 0, freed: 0 };
    return this.ctx.storage.transactionSync(() => {
      const admitted = this.sql
        .exec(
          "UPDATE tickets SET state = 'admitted', admitted_at = ? WHERE state = 'waiting' AND ord <= ? RETURNING 1",
          at,
          watermark,
        )
        .toArray().length;
      const freed = this.sql.exec<{ freed: number }>("SELECT freed FROM shard").one().freed;
      this.sql.exec("UPDATE shard SET freed = 0");
      return { admitted, freed };
    });
  }

  /** Forgets every ticket: the room was turned off. */
  clear(): void {
    if (this.held === null) return;
    this.sql.exec("DELETE FROM tickets");
    this.held = 0;
  }

  /** Every ticket's order key, join and admission time, for tests and the benchmark. */
  tickets(): { ord: number; joined_at: number; admitted_at: number | null; state: string }[] {
    if (this.held === null) return [];
    return this.sql
      .exec<{ ord: number; joined_at: number; admitted_at: number | null; state: string }>(
        "SELECT ord, joined_at, admitted_at, state FROM tickets ORDER BY ord",
      )
      .toArray();
  }

  private ticket(ticketId: string): TicketRow | undefined {
    if (this.held === null) return undefined;
    return this.sql
      .exec<TicketRow>("SELECT token_hash, ord, state, admitted_at, next_poll_at FROM tickets WHERE id = ?", ticketId)
      .toArray()[0];
  }
}

/**
 * A place in the pre-queue: uniform in [0, 1), from 53 random bits, so that no two of even
 * millions of tickets are likely to draw the same one. Nobody is told it before opening.
 */
function drawnPlace(): number {
  const [high, low] = crypto.getRandomValues(new Uint32Array(2));
  return (high! * 2 ** 21 + (low! >>> 11)) / 2 ** 53;
}
