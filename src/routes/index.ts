import { json } from "../http/responses";
import { auditLog, blockSeats, putShow, resetSeat, resetShow, unblockSeats } from "./admin";
import { bookSeat, bookSeats, cancelBooking } from "./bookings";
import { confirmHold, createHold, extendHold, releaseHold } from "./holds";
import { buildRouter, type Handlers } from "./router";
import { deleteWaitingRoom, joinQueue, leaveQueue, putWaitingRoom, queueTicket, waitingRoom } from "./queue";
import { listShows, liveSeatMap, seatMap, seatStatuses, showPlan } from "./shows";

/** Each operation declared in `src/contract/operations.ts`, bound to the handler that serves it. */
export const HANDLERS: Handlers = {
  health: () => json({ status: "ok" }),
  bookSeat,
  listShows,
  seatMap,
  seatStatuses,
  showPlan,
  liveSeatMap,
  bookSeats,
  createHold,
  releaseHold,
  confirmHold,
  extendHold,
  cancelBooking,
  putShow,
  resetShow,
  resetSeat,
  blockSeats,
  unblockSeats,
  auditLog,
  waitingRoom,
  joinQueue,
  queueTicket,
  leaveQueue,
  putWaitingRoom,
  deleteWaitingRoom,
};

export function createRouter() {
  return buildRouter(HANDLERS);
}
