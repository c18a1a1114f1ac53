import { objectBusy, showBusy } from "../http/failures";
import { HttpError } from "../http/responses";
import { publicId, type Id } from "../ids";
import { checkPass, MIN_SECRET_LENGTH } from "../queue/pass";
import type { RoomStatus } from "../queue/types";
import { requireShow } from "./directory";
import { SharedQuestions } from "./questions";

/**
 * Whether each show's waiting room is on, as this isolate last heard, and until when to believe
 * it. Asking the room costs one call per isolate and show every ROOM_STATUS_MAX_AGE_MS; a booking
 * itself never waits on any object to have its pass checked.
 */
const rooms = new Map<Id, { status: RoomStatus; asOf: number; until: number }>();
const MAX_ROOMS = 10_000;
/** How long an isolate trusts what it heard: turning a room on or off reaches every isolate within this. */
export const ROOM_STATUS_MAX_AGE_MS = 2000;

export function roomObject(env: Env, showId: Id) {
  return env.WAITING_ROOM.getByName(showId);
}

/**
 * The room's status, from this isolate's memo when fresh. A show that does not exist is refused
 * with its 404 first, so that no made-up id ever wakes a room.
 */
export async function roomStatus(env: Env, showId: Id): Promise<RoomStatus> {
  await requireShow(env, showId);
  const known = rooms.get(showId);
  if (known && known.until > Date.now()) return known.status;
  const heard = await statusQuestions.ask(showId, async () => {
    // Believed for ROOM_STATUS_MAX_AGE_MS from when it was asked, not from when it came.
    const asOf = Date.now();
    const status = await roomObject(env, showId)
      .status()
      .catch((error: unknown) => {
        // A busy room's 503 is the answer of every request waiting on this question, which would
        // otherwise each ask the busy room again. Nothing was changed, whatever the request was.
        throw objectBusy(error) ? showBusy(showId, "This show's waiting room is briefly unavailable") : error;
      });
    rememberRoom(showId, status, asOf);
    return { status, asOf };
  });
  // What an admin route noted after the question went out is newer than its answer.
  const noted = rooms.get(showId);
  return noted !== undefined && noted.asOf > heard.asOf ? noted.status : heard.status;
}

/** An isolate's concurrent requests for a room whose status it must ask again ask once. */
const statusQuestions = new SharedQuestions<{ status: RoomStatus; asOf: number }>();

/** Forgets every room's status this isolate heard, as a cold isolate would: for tests. */
export function forgetRooms(): void {
  rooms.clear();
}

/** Forgets what this isolate heard of one room, so that its next request asks it again. */
export function forgetRoom(showId: Id): void {
  rooms.delete(showId);
}

/**
 * Notes a room's status as of `asOf` (ms): what an admin route just did to it, so this isolate acts
 * on it at once, or an answer the room gave. An answer asked before what is noted already (the
 * admin's change, made while the question was on its way) does not replace it.
 */
export function rememberRoom(showId: Id, status: RoomStatus, asOf = Date.now()): void {
  const noted = rooms.get(showId);
  if (noted !== undefined && noted.asOf > asOf) return;
  if (rooms.size >= MAX_ROOMS) rooms.clear();
  rooms.set(showId, { status, asOf, until: asOf + ROOM_STATUS_MAX_AGE_MS });
}

/** The secret passes are signed with, or a 503 that says it is missing. */
export function queueSecret(env: Env): string {
  const secret = env.QUEUE_SECRET;
  if (!secret || secret.length < MIN_SECRET_LENGTH) {
    throw new HttpError(
      503,
      "Waiting rooms need QUEUE_SECRET (32 characters or more); set it with wrangler secret put",
    );
  }
  return secret;
}

const REFUSALS = {
  missing:
    "This show's on-sale has a waiting room: join the queue (POST /api/shows/:show_id/queue) and send the pass it gives you in the Admission-Pass header",
  forged: "This admission pass is not valid",
  expired: "This admission pass has expired; join the queue again",
  other_show: "This admission pass is for another show",
  other_room: "This admission pass is from an earlier on-sale of this show; join the queue again",
} as const;

/**
 * For a hold or booking of `showId`: null while the show's room is off; the ticket its pass was
 * issued to while it is on; and 403 without a valid pass for this show. Checked here, with the
 * secret alone.
 */
export async function admissionOf(env: Env, showId: Id, request: Request): Promise<string | null> {
  const status = await roomStatus(env, showId);
  if (!status.on) return null;
  const pass = request.headers.get("admission-pass");
  const check = await checkPass(queueSecret(env), pass, { showId, room: status.session, now: Date.now() });
  // `reason` lets a client tell a pass to replace (expired, earlier on-sale) from one it never had.
  if (!check.ok) {
    throw new HttpError(403, REFUSALS[check.reason], { show_id: publicId(showId), reason: check.reason });
  }
  return check.claims.ticket;
}
