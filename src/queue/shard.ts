import { DurableObject } from "cloudflare:workers";
import type { Id } from "../ids";
import { randomBase64Url } from "../random";
import { newToken, tokenMatches } from "../show/tokens";
import { applyMigrations, hasBeenMigrated } from "../storage/migrations";
import { signPass } from "./pass";
import { SHARD_MIGRATIONS } from "./schema";
import type {
  Counting,
  Joiner,
  NewTicket,
  PlaceScale,
  RoomConfig,
  RoomSession,
  TicketResult,
  TicketStatus,
  Waiting,
} from "./types";
import { MAX_RETRY_AFTER_SECONDS, waitingAt } from "./waiting";

/**
 * With several shards, a new ticket with fewer than ROUGH_BELOW tickets ahead in its own shard
 * (where the estimate of its position is rough) polls within FIRST_POLL_WITHIN_SECONDS, to learn
 * its exact one. Further back, the estimate is good to about a tenth, and its wait stands.
 */
const FIRST_POLL_WITHIN_SECONDS = 5;
const ROUGH_BELOW = 100;

/** Tickets one shard holds at most; past that, joining gets 503. */
export const MAX_TICKETS_PER_SHARD = 250_000;
/**
 * How long a ticket that left is kept (a second DELETE after a 503 finds it, and revokes its pass
 * again), after which it is forgotten: joining and leaving at the join rate must not grow the
 * shard without end. FORGET_PER_TICK bounds the work of each tick.
 */
export const KEEP_LEFT_MS = 10 * 60_000;
const FORGET_PER_TICK = 1000;
/**
 * How much earlier than the time the room was turned on a ticket must have joined to be taken for
 * an earlier on-sale's (see `enter`): the room's clock and a shard's are different machines', and
 * nobody joins until a Worker has heard from the room that it is on.
 */
const EARLIER_ON_SALE_SLACK_MS = 1000;
/** A poll this much earlier than its Retry-After allowed is still answered (clocks and networks drift). */
const POLL_SLACK = 0.2;
/**
 * A waiting ticket that has not polled for this long after it was due is taken for gone: it is
 * not admitted (nor counted against the rate) until it polls again, when it finds its place kept.
 */
export const GONE_AFTER_MS = 60_000;
/**
 * A waiting ticket that has not polled for this long after it was due is forgotten, a bounded
 * number a tick (FORGET_PER_TICK): its buyer must join again. Abandoned tickets, a script's among
 * them, would otherwise count against the shard's cap for as long as the room is on, until
 * joining answered 503 for everyone.
 */
export const FORGET_GONE_AFTER_MS = 30 * 60_000;

interface TicketRow extends Record<string, SqlStorageValue> {
  token_hash: string;
  ord: number;
  state: "waiting" | "admitted" | "left";
  admitted_at: number | null;
  next_poll_at: number;
  due_at: number;
}

/**
 * When an admitted ticket's session starts: at admission, or, for a buyer admitted before the time
 * they were told to come back (the rate was raised, or the opening brought forward, after they
 * were told), at that time, so that coming back when told never finds the pass run out.
 */
function sessionStart(row: TicketRow): number {
  return Math.max(row.admitted_at!, row.due_at);
}

/**
 * One shard of a show's queue: the tickets of the buyers who joined through it. A show's queue
 * has `QUEUE_SHARDS` shards, and each join goes to the one its address's hash picks (at random
 * with limits per address off), so joins spread over several objects; the waiting room
 * (`WaitingRoom`) decides who is admitted, by moving a watermark along the tickets' order, and
 * tells every shard.
 */
export class QueueShard extends DurableObject<Env> {
  /** Where the object reads the time. Tests replace it to drive opening and admission. */
  clock: () => number = Date.now;

  /** Breaks ties between tickets that join in the same millisecond, in the order they came. */
  private sequence = 0;
  /** The millisecond `sequence` counts in. */
  private sequenceMs = -1;
  /** How many tickets wait in the shard (the cap counts these); null until its schema exists (nobody has joined yet). */
  private held: number | null = null;
  /** The time the room was turned on that the tickets here joined under (see `enter`); null before one was heard of. */
  private session: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // A shard nobody joined has no database, and asking it anything must not make one (but the
    // room's `open`: it was turned on).
    void ctx.blockConcurrencyWhile(async () => {
      if (hasBeenMigrated(ctx.storage)) this.migrate();
    });
  }

  private migrate(): number {
    applyMigrations(this.ctx.storage, SHARD_MIGRATIONS);
    this.held = this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM tickets WHERE state = 'waiting'").one().n;
    this.session = this.sql.exec<{ session: number | null }>("SELECT session FROM shard").one().session;
    return this.held;
  }

  /**
   * Whether a call made for the time the room was turned on at `session` may go on here. Tickets
   * belong to the time the room was on when they joined. A call for a later one (the room was
   * turned off and on again) forgets them first: whether or not the room's clear reached this shard
   * when it was turned off, and whatever joined after that through an isolate that had not yet
   * heard (it keeps the room's status for up to 2 s). A call for an earlier one (such an isolate's,
   * or a tick begun before the room was turned on again) is refused: those tickets are gone, and
   * these are another on-sale's. Only for a shard with its schema (`held` not null).
   */
  private enter(session: number | undefined): boolean {
    // A caller of the version before sessions, during a deploy (a Worker, or the room, for up to
    // minutes after), names none: it goes on as it did then.
    if (typeof session !== "number" || !Number.isSafeInteger(session)) return true;
    if (this.session !== null && session < this.session) return false;
    if (session === this.session) return true;
    if (this.session !== null) this.forgetAll();
    // A shard from before sessions hears its first: tickets that joined well before that time the
    // room was turned on (nobody joins a room that is off) are an earlier on-sale's, which the
    // version before failed to clear.
    else this.forgetJoinedBefore(session - EARLIER_ON_SALE_SLACK_MS);
    this.sql.exec("UPDATE shard SET session = ?", session);
    this.session = session;
    return true;
  }

  private forgetJoinedBefore(at: number): void {
    const forgotten = this.sql
      .exec<{ state: string }>("DELETE FROM tickets WHERE joined_at < ? RETURNING state", at)
      .toArray();
    if (forgotten.length === 0) return;
    this.held! -= forgotten.filter((ticket) => ticket.state === "waiting").length;
    // Slots those buyers freed are that on-sale's, as `forgetAll` says.
    this.sql.exec("UPDATE shard SET freed = 0");
  }

  /**
   * The room was turned on at `session`: the shard takes it as its own now (see `enter`), rather
   * than at its first call of that session, so that a join made on what an isolate heard before is
   * refused from the start, and what was left from before is forgotten at once.
   */
  open(session: number): void {
    if (this.held === null) this.migrate();
    this.enter(session);
  }

  private get sql(): SqlStorage {
    return this.ctx.storage.sql;
  }

  /**
   * Adds a ticket. Before opening its place is drawn at random; after, it is the time it came
   * (counted from the room's `placesFrom`).
   * A `joiner` whose address has `limit` tickets waiting here already is refused (the Worker sends
   * all of an address's tickets to one shard); its hash stays on the ticket while it waits.
   */
  join(
    showId: Id,
    shard: number,
    room: RoomConfig & PlaceScale & RoomSession,
    joiner: Joiner | null = null,
  ): TicketResult<NewTicket & Waiting> {
    const { opensAt } = room;
    if (this.held === null) this.migrate();
    if (!this.enter(room.session)) return { ok: false, reason: "room_changed" };
    const held = this.held!;
    if (held >= MAX_TICKETS_PER_SHARD) return { ok: false, reason: "queue_full" };
    if (joiner !== null && this.waitingOf(joiner.client) >= joiner.limit) {
      return { ok: false, reason: "address_queued_too_many", limit: joiner.limit };
    }
    const now = this.clock();
    if (now !== this.sequenceMs) [this.sequence, this.sequenceMs] = [0, now];
    const tie = Math.min(this.sequence++, 999) / 1000;
    const ord = now < opensAt ? drawnPlace() : 1 + (now - (room.placesFrom ?? opensAt)) + tie + shard / 100_000;
    const id = `${showId}.${shard}.${randomBase64Url(16)}`;
    const { token, hash } = newToken("qt");
    this.sql.exec(
      "INSERT INTO tickets (id, token_hash, ord, joined_at, state, client) VALUES (?, ?, ?, ?, 'waiting', ?)",
      id,
      hash,
      ord,
      now,
      joiner?.client ?? null,
    );
    this.held = held + 1;
    return { ok: true, ticket_id: id, ticket_token: token, ...this.waiting(id, ord, now, room) };
  }

  /** How many tickets of one address (its hash) wait here. */
  private waitingOf(client: string): number {
    return this.sql
      .exec<{ n: number }>("SELECT COUNT(*) AS n FROM tickets WHERE state = 'waiting' AND client = ?", client)
      .one().n;
  }

  /**
   * Where a ticket stands. Waiting: its position (estimated from this shard's share of the
   * queue: exact with one shard) and when to ask again, later the further back it is, so that a
   * crowd of any size polls at a bounded rate. Admitted: its pass, signed with QUEUE_SECRET.
   */
  async poll(
    ticketId: string,
    token: string,
    room: RoomConfig & RoomSession,
  ): Promise<TicketResult<TicketStatus | Counting>> {
    const now = this.clock();
    if (this.held !== null && !this.enter(room.session)) return { ok: false, reason: "room_changed" };
    const row = this.ticket(ticketId);
    if (row === undefined) return { ok: false, reason: "ticket_not_found" };
    if (!tokenMatches(token, row.token_hash)) return { ok: false, reason: "wrong_token" };
    if (row.state === "left") return { ok: false, reason: "ticket_left" };
    if (now < row.next_poll_at) {
      return { ok: false, reason: "too_early", retry_after: Math.ceil((row.next_poll_at - now) / 1000) };
    }
    if (row.state === "admitted") {
      const exp = sessionStart(row) + room.sessionMinutes * 60_000;
      if (exp <= now) return { ok: false, reason: "pass_expired" };
      // An admitted buyer needs their pass once; asking again is allowed once a second.
      this.sql.exec("UPDATE tickets SET next_poll_at = ? WHERE id = ?", now + 1000, ticketId);
      const showId = ticketId.slice(0, ticketId.indexOf("."));
      const claims = { show: showId, ticket: ticketId, exp, room: room.session };
      const pass = await signPass(this.env.QUEUE_SECRET!, claims);
      return { ok: true, state: "admitted", pass, pass_expires_at: new Date(exp).toISOString() };
    }
    if (now < room.opensAt || room.shards === 1) return { ok: true, ...this.waiting(ticketId, row.ord, now, room) };
    // The Worker counts the tickets ahead in the other shards, then says when to poll (`told`);
    // meanwhile a second poll of this ticket is refused, as if it had been told a second.
    this.told(ticketId, 1, now);
    return { ok: true, state: "counting", ord: row.ord, ahead: this.waitingAhead(row.ord) };
  }

  /**
   * A waiting ticket's answer from this shard alone. Before opening it is final: everyone is
   * told to come back at opening, spread over a few seconds so that the pre-queue does not poll at
   * once. After opening, with one shard, the count of tickets ahead here is the position; with
   * more, it is an estimate (this shard's share, times the shards), used when joining; where it is
   * rough (few ahead in this shard), the first poll comes within seconds to learn the exact one.
   */
  private waiting(ticketId: string, ord: number, now: number, room: RoomConfig & RoomSession): Waiting {
    let answer: Waiting;
    if (now < room.opensAt) {
      const wait = Math.ceil((room.opensAt - now) / 1000);
      // At most MAX_RETRY_AFTER_SECONDS while the opening is further off than that, so that an
      // opening brought forward strands nobody; then the time to opening, spread over up to 30 s
      // after it, so that the pre-queue does not come at once.
      const retry =
        wait > MAX_RETRY_AFTER_SECONDS
          ? MAX_RETRY_AFTER_SECONDS
          : wait + 1 + Math.floor(Math.random() * Math.min(30, 1 + wait));
      answer = { state: "waiting", position: null, estimated_wait_seconds: wait, retry_after: retry };
    } else {
      const ahead = this.waitingAhead(ord);
      answer = waitingAt(ahead * room.shards + 1, room);
      // Few ahead in this shard: the estimate may be far off, so the exact position comes soon.
      const rough = room.shards > 1 && ahead < ROUGH_BELOW;
      if (rough) answer.retry_after = Math.min(answer.retry_after, FIRST_POLL_WITHIN_SECONDS);
    }
    this.told(ticketId, answer.retry_after, now);
    return answer;
  }

  /**
   * Waiting tickets in this shard ahead of the place `ord` that are still there: a ticket taken for
   * gone (see GONE_AFTER_MS) is passed over by admission, so counting it would tell everyone behind
   * it a wait, and a time to poll, longer than theirs.
   */
  aheadOf(ord: number, session?: number): number {
    return this.held === null || !this.enter(session) ? 0 : this.waitingAhead(ord);
  }

  private waitingAhead(ord: number): number {
    return this.sql
      .exec<{ n: number }>(
        "SELECT COUNT(*) AS n FROM tickets WHERE state = 'waiting' AND ord < ? AND due_at >= ?",
        ord,
        this.clock() - GONE_AFTER_MS,
      )
      .one().n;
  }

  /**
   * Records when a ticket was told to come back (`due_at`), and from when it may (a little before,
   * for drift; earlier polls get 429).
   */
  told(ticketId: string, retryAfterSeconds: number, now = this.clock()): void {
    const next = now + retryAfterSeconds * 1000 * (1 - POLL_SLACK);
    const due = now + retryAfterSeconds * 1000;
    this.sql.exec(
      "UPDATE tickets SET next_poll_at = ?, due_at = ? WHERE id = ? AND state = 'waiting'",
      next,
      due,
      ticketId,
    );
  }

  /** The buyer leaves the queue, or gives up their pass; an admitted buyer's slot goes to the next. */
  leave(
    ticketId: string,
    token: string,
    sessionMinutes: number,
    session?: number,
  ): TicketResult<{ was: "waiting" | "admitted" }> {
    if (this.held !== null && !this.enter(session)) return { ok: false, reason: "room_changed" };
    const row = this.ticket(ticketId);
    if (row === undefined) return { ok: false, reason: "ticket_not_found" };
    if (!tokenMatches(token, row.token_hash)) return { ok: false, reason: "wrong_token" };
    if (row.state === "left") return { ok: false, reason: "ticket_left", admitted: row.admitted_at !== null };
    this.ctx.storage.transactionSync(() => {
      this.sql.exec(
        "UPDATE tickets SET state = 'left', left_at = ?, client = NULL WHERE id = ?",
        this.clock(),
        ticketId,
      );
      // Only a session still running frees a slot: leaving after the pass ran out gives nothing back.
      const running = row.admitted_at !== null && sessionStart(row) + sessionMinutes * 60_000 > this.clock();
      if (row.state === "admitted" && running) this.sql.exec("UPDATE shard SET freed = freed + 1");
    });
    if (row.state === "waiting") this.held!--;
    return { ok: true, was: row.state };
  }

  /**
   * The places of the first `limit` waiting tickets that are still there (they polled when they
   * were due, or not long after), for the room to merge with the other shards'; only tickets that
   * joined before `joinedBy`, the millisecond the room's tick began. The shards are asked in no set
   * order, and a ticket that joins one of them meanwhile must not be counted by some shards'
   * answers and not by others': its place could fall below the watermark the others set, and it
   * would be left waiting while tickets after it came in. One that joins within the tick's own
   * millisecond waits for the next tick, as every ticket after it does: places grow with the
   * millisecond, so it comes after every ticket counted (ties within a millisecond went to shards
   * in no set order, and one shard's could take another's head's place). (One that joins within a
   * clock's difference between the room's machine and this one's may still come in a tick late.)
   * By when a ticket joined, not by its place: a pre-queue drawn after an opening was moved comes
   * ahead of tickets that joined before it. None for a tick of an earlier `session` (see `enter`).
   */
  heads(limit: number, joinedBy = Number.MAX_SAFE_INTEGER, session?: number): number[] {
    if (this.held === null || !this.enter(session)) return [];
    return this.sql
      .exec<{ ord: number }>(
        "SELECT ord FROM tickets WHERE state = 'waiting' AND due_at >= ? AND joined_at < ? ORDER BY ord LIMIT ?",
        this.clock() - GONE_AFTER_MS,
        joinedBy,
        limit,
      )
      .toArray()
      .map((row) => row.ord);
  }

  /**
   * Admits the waiting tickets still there up to the watermark, in order, at most `limit` of them
   * (the room's share for this shard; -1, none given, for all), of those that joined before `joinedBy`
   * (as `heads` counted them: a ticket joining between the room's two calls does not take a head's
   * place); says how many, and how many slots were freed since. Forgets old tickets (see `forgetOld`).
   * Nobody for a tick of an earlier `session` (see `enter`).
   */
  admit(
    watermark: number,
    at: number,
    limit = -1,
    joinedBy = Number.MAX_SAFE_INTEGER,
    session?: number,
  ): { admitted: number; freed: number } {
    if (this.held === null || !this.enter(session)) return { admitted: 0, freed: 0 };
    return this.ctx.storage.transactionSync(() => {
      const admitted = this.sql
        .exec(
          // An admitted buyer may fetch their pass at once, whenever they were told to poll next.
          `UPDATE tickets SET state = 'admitted', admitted_at = ?, next_poll_at = 0, client = NULL
            WHERE id IN (SELECT id FROM tickets WHERE state = 'waiting' AND ord <= ? AND due_at >= ?
                          AND joined_at < ? ORDER BY ord LIMIT ?) RETURNING 1`,
          at,
          watermark,
          at - GONE_AFTER_MS,
          joinedBy,
          limit,
        )
        .toArray().length;
      this.held! -= admitted;
      this.forgetOld(at);
      const freed = this.sql.exec<{ freed: number }>("SELECT freed FROM shard").one().freed;
      this.sql.exec("UPDATE shard SET freed = 0");
      return { admitted, freed };
    });
  }

  /** Forgets what `admit` forgets, and admits nobody: a tick before opening. */
  sweep(at: number, session?: number): void {
    if (this.held === null || !this.enter(session)) return;
    this.ctx.storage.transactionSync(() => this.forgetOld(at));
  }

  /** Forgets, FORGET_PER_TICK of each at most, tickets that left KEEP_LEFT_MS ago and waiting ones gone FORGET_GONE_AFTER_MS. */
  private forgetOld(at: number): void {
    this.sql.exec(
      "DELETE FROM tickets WHERE id IN (SELECT id FROM tickets WHERE left_at < ? LIMIT ?)",
      at - KEEP_LEFT_MS,
      FORGET_PER_TICK,
    );
    const forgotten = this.sql
      .exec(
        "DELETE FROM tickets WHERE id IN (SELECT id FROM tickets WHERE state = 'waiting' AND due_at < ? LIMIT ?) RETURNING 1",
        at - FORGET_GONE_AFTER_MS,
        FORGET_PER_TICK,
      )
      .toArray().length;
    this.held! -= forgotten;
  }

  /**
   * Forgets every ticket: the room was turned off, at the end of `session`. A clear that comes
   * after the room was turned on again, and the shard has heard so, is too late, and forgets
   * nothing: those tickets are the next on-sale's.
   */
  clear(session?: number): void {
    if (this.held === null) return;
    if (typeof session === "number" && this.session !== null && this.session > session) return;
    this.forgetAll();
  }

  private forgetAll(): void {
    this.sql.exec("DELETE FROM tickets");
    // Slots freed by buyers of this time the room was on are no one's to give in the next.
    this.sql.exec("UPDATE shard SET freed = 0");
    this.held = 0;
  }

  /** Every ticket's order key, join and admission time, for tests and the benchmark. */
  tickets(): { id: string; ord: number; joined_at: number; admitted_at: number | null; state: string }[] {
    if (this.held === null) return [];
    return this.sql
      .exec<{ id: string; ord: number; joined_at: number; admitted_at: number | null; state: string }>(
        "SELECT id, ord, joined_at, admitted_at, state FROM tickets ORDER BY ord",
      )
      .toArray();
  }

  private ticket(ticketId: string): TicketRow | undefined {
    if (this.held === null) return undefined;
    return this.sql
      .exec<TicketRow>(
        "SELECT token_hash, ord, state, admitted_at, next_poll_at, due_at FROM tickets WHERE id = ?",
        ticketId,
      )
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
