import { HttpError, json } from "../http/responses";
import { publicId, type Id } from "../ids";
import { shardName } from "../queue/room";
import type { RoomStatus, TicketFailure, TicketRef, TicketResult, TicketStatus } from "../queue/types";
import { waitingAt } from "../queue/waiting";
import { forgetRoom, queueSecret, rememberRoom, roomObject, roomStatus } from "./admission";
import { requireShow } from "./directory";
import { positiveInteger, queueTicketsPerAddress } from "../config";
import { clientHash } from "../http/client";
import type { Handler } from "./router";
import { callShow } from "./stubs";

/** Shards of a show's queue, for rooms turned on from now (QUEUE_SHARDS, 1-16; 8 by default). */
function queueShards(env: Env): number {
  return positiveInteger(env.QUEUE_SHARDS, DEFAULT_SHARDS, MAX_SHARDS);
}

const DEFAULT_SHARDS = 8;
const MAX_SHARDS = 16;

function describeRoom(showId: Id, status: RoomStatus) {
  if (!status.on) return { show_id: publicId(showId), on: false };
  return {
    show_id: publicId(showId),
    on: true,
    opens_at: new Date(status.opensAt).toISOString(),
    admit_per_minute: status.admitPerMinute,
    session_minutes: status.sessionMinutes,
    shards: status.shards,
  };
}

/** `PUT /admin/shows/:show_id/waiting-room`: turns the room on, or changes its settings. */
export const putWaitingRoom: Handler<"putWaitingRoom"> = async ({ params: { show_id: showId }, body }, env) => {
  await requireShow(env, showId);
  queueSecret(env);
  const config = {
    opensAt: body.opens_at,
    admitPerMinute: body.admit_per_minute,
    sessionMinutes: body.session_minutes,
  };
  const { created, status } = await roomObject(env, showId).configure(showId, config, queueShards(env));
  rememberRoom(showId, status);
  return json(
    { message: created ? "Waiting room on" : "Waiting room updated", waiting_room: describeRoom(showId, status) },
    created ? 201 : 200,
  );
};

/** `DELETE /admin/shows/:show_id/waiting-room`: turns the room off and forgets its queue. */
export const deleteWaitingRoom: Handler<"deleteWaitingRoom"> = async ({ params: { show_id: showId } }, env) => {
  await requireShow(env, showId);
  const wasOn = await roomObject(env, showId).disable();
  rememberRoom(showId, { on: false });
  return json({ message: wasOn ? "Waiting room off" : "The waiting room was not on", show_id: publicId(showId) });
};

/** `GET /api/shows/:show_id/waiting-room`: whether the room is on, and its settings. */
export const waitingRoom: Handler<"waitingRoom"> = async ({ params: { show_id: showId } }, env) => {
  return json(describeRoom(showId, await roomStatus(env, showId)));
};

/**
 * `POST /api/shows/:show_id/queue`: a ticket in a shard of the show's queue, and where it stands.
 * While limits per address are on, an address's tickets all go to one shard (picked by its keyed hash),
 * which refuses a join past QUEUE_TICKETS_PER_ADDRESS waiting tickets; else the shard is random.
 */
export const joinQueue: Handler<"joinQueue"> = async ({ params: { show_id: showId }, client }, env) => {
  const status = await roomStatus(env, showId);
  if (!status.on)
    throw new HttpError(409, "This show has no waiting room on; book directly", { show_id: publicId(showId) });
  const secret = queueSecret(env);
  const limit = client === null ? null : queueTicketsPerAddress(env);
  // Keyed with the room's secret, so that nobody can work out which addresses share a shard (and
  // fill that one shard to turn them away), nor undo the hash the shard keeps.
  const joiner = client === null || limit === null ? null : { client: clientHash(client, secret), limit };
  const shard =
    joiner === null
      ? Math.floor(Math.random() * status.shards)
      : parseInt(joiner.client.slice(0, 8), 16) % status.shards;
  const result = heard(
    showId,
    await env.QUEUE_SHARD.getByName(shardName(showId, shard)).join(showId, shard, status, joiner),
  );
  if (!result.ok) throw ticketFailure(result, null);
  const { ok: _, ...ticket } = result;
  return json(ticket, 201, { "retry-after": String(ticket.retry_after) });
};

/** `GET /api/queue/:ticket_id`: where the ticket stands, or its admission pass. */
export const queueTicket: Handler<"queueTicket"> = async ({ params: { ticket_id: ticket }, token }, env) => {
  // An admitted ticket's answer is a pass signed with the secret: without one, 503, as for joining.
  queueSecret(env);
  const { status, shard } = await ticketShard(env, ticket);
  const result = heard(ticket.showId, await shard.poll(ticket.ref, token, status));
  if (!result.ok) throw ticketFailure(result, ticket.ref);
  const { ok: _, ...found } = result;
  let answer: TicketStatus;
  if (found.state === "counting") {
    // The exact position: the tickets ahead in this shard and in every other one.
    const others = Array.from({ length: status.shards }, (_, k) => k).filter((k) => k !== ticket.shard);
    const counts = await Promise.all(
      others.map((k) => env.QUEUE_SHARD.getByName(shardName(ticket.showId, k)).aheadOf(found.ord, status.session)),
    );
    answer = waitingAt(1 + found.ahead + counts.reduce((sum, n) => sum + n, 0), status);
    await shard.told(ticket.ref, answer.retry_after);
  } else {
    answer = found;
  }
  const headers = answer.state === "waiting" ? { "retry-after": String(answer.retry_after) } : undefined;
  return json({ ticket_id: ticket.ref, ...answer }, 200, headers);
};

/** `DELETE /api/queue/:ticket_id`: leaves the queue, or ends an admitted session early. */
export const leaveQueue: Handler<"leaveQueue"> = async ({ params: { ticket_id: ticket }, token }, env) => {
  const { status, shard } = await ticketShard(env, ticket);
  const result = heard(ticket.showId, await shard.leave(ticket.ref, token, status.sessionMinutes, status.session));
  // The slot goes to the next buyer, so the pass stops working: the show refuses it from now on. A
  // buyer who left before and asks again is told again (revoking twice changes nothing): the show
  // may not have heard the first time, when that DELETE was answered 503.
  const revoke = () => callShow(env, ticket.showId, (show) => show.revokePass(ticket.ref), { repeatable: true });
  if (!result.ok) {
    if (result.reason === "ticket_left" && result.admitted) await revoke();
    throw ticketFailure(result, ticket.ref);
  }
  if (result.was === "admitted") await revoke();
  return json({
    message: result.was === "admitted" ? "Session ended; your slot goes to the next buyer" : "Left the queue",
    ticket_id: ticket.ref,
  });
};

/**
 * The room a ticket belongs to (on) and the shard that holds it; 404 when the room is off or the
 * ticket names a shard it does not have (a made-up show's ticket gets 404 from `roomStatus`).
 */
async function ticketShard(env: Env, ticket: TicketRef) {
  const status = await roomStatus(env, ticket.showId);
  if (!status.on || ticket.shard >= status.shards) {
    throw ticketFailure({ ok: false, reason: "ticket_not_found" }, ticket.ref);
  }
  return { status, shard: env.QUEUE_SHARD.getByName(shardName(ticket.showId, ticket.shard)) };
}

/**
 * A shard's answer, noted: one that says the room was turned on again since this isolate heard of
 * it has the isolate ask the room again at its next request, rather than act on what it heard for
 * the rest of ROOM_STATUS_MAX_AGE_MS.
 */
function heard<R extends TicketResult<unknown>>(showId: Id, result: R): R {
  if (!result.ok && result.reason === "room_changed") forgetRoom(showId);
  return result;
}

function ticketFailure(failure: TicketFailure, ticketId: string | null): HttpError {
  const ticket = ticketId === null ? {} : { ticket_id: ticketId };
  switch (failure.reason) {
    case "ticket_not_found":
      return new HttpError(
        404,
        "Ticket not found; a ticket left unpolled for half an hour is forgotten, so join again",
        ticket,
      );
    case "wrong_token":
      return new HttpError(403, "That token does not grant access to this ticket", ticket);
    case "ticket_left":
      return new HttpError(410, "This ticket has left the queue", ticket);
    case "pass_expired":
      return new HttpError(410, "This ticket's admission has expired; join the queue again", ticket);
    case "address_queued_too_many":
      return new HttpError(
        429,
        `This address already has ${failure.limit} tickets waiting in this show's queue, the most it may have at once; join again once one is admitted or has left`,
        { limit: failure.limit },
        { "retry-after": "60" },
      );
    case "queue_full":
      return new HttpError(503, "The queue is full; retry shortly", {}, { "retry-after": "30" });
    case "room_changed":
      // What this isolate had heard of the room was from before it was last turned on (see `heard`).
      return new HttpError(503, "The waiting room was just turned on again; retry", {}, { "retry-after": "1" });
    case "too_early":
      return new HttpError(
        429,
        `Poll again in ${failure.retry_after} second${failure.retry_after === 1 ? "" : "s"}`,
        { ...ticket, retry_after: failure.retry_after },
        { "retry-after": String(failure.retry_after) },
      );
  }
}
