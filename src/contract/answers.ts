import { z } from "zod";
import { PlanSchema } from "./plan";

/**
 * The shapes of the API's answers, for the OpenAPI document. The contract test checks every
 * real answer against them, so they cannot drift from what the Worker sends.
 */

const PublicId = z
  .union([z.int(), z.string()])
  .describe("A plain integer id comes back as a number, any other id as a string");
const Timestamp = z.string().describe("ISO 8601, UTC");
const SeatStatus = z.enum(["available", "held", "booked", "blocked"]);

export const ErrorBody = z
  .looseObject({ error: z.string().describe("What went wrong, in words") })
  .describe("Every error: a message, and context such as show_id, seat_ids or field");

export const Health = z.strictObject({ status: z.literal("ok") });

export const Booking = z.strictObject({
  id: z.string().describe("<show_id>.<22 random characters>"),
  show_id: PublicId,
  seat_id: PublicId,
  user_id: PublicId.nullable(),
  booked_at: Timestamp,
  booking_token: z.string().describe("Secret that cancels this booking; returned once"),
});

export const BookSeatAnswer = z.strictObject({ message: z.literal("Seat booked successfully"), booking: Booking });

export const BookingsAnswer = z.strictObject({ message: z.string(), bookings: z.array(Booking) });

export const ConfirmAnswer = z.strictObject({ message: z.string(), hold_id: z.string(), bookings: z.array(Booking) });

export const Hold = z.strictObject({ hold_id: z.string(), seat_ids: z.array(PublicId), expires_at: Timestamp });

/** A seat as a buyer is told of it. */
export const SelectedSeat = z.strictObject({
  seat_id: PublicId,
  label: z.string().describe('Zone, row and number: "Stalls, row C, seat 12"'),
  zone: z.string(),
  row: z.string(),
  number: z.string(),
  category: z.string(),
});

export const NewHold = z.strictObject({
  hold_id: z.string(),
  hold_token: z.string().describe("Secret every later call on the hold needs; returned once"),
  seat_ids: z.array(PublicId),
  expires_at: Timestamp,
  seats: z.array(SelectedSeat).describe("The held seats, in plan order, with where they are"),
});

export const HoldReleased = z.strictObject({ message: z.string(), hold_id: z.string(), released: z.int() });

export const BookingCancelled = z.strictObject({ message: z.string(), booking_id: z.string() });

/** Seats of one price category, and how many are available. */
export const CategoryCount = z.strictObject({
  name: z.string(),
  color: z.string(),
  total: z.int(),
  available: z.int(),
});

export const SeatMap = z.strictObject({
  show_id: PublicId,
  name: z.string(),
  seats: z.array(z.strictObject({ seat_id: PublicId, status: SeatStatus })),
  counts: z.strictObject({
    total: z.int(),
    available: z.int(),
    held: z.int(),
    booked: z.int(),
    blocked: z.int(),
  }),
  categories: z.array(CategoryCount).describe("Every category of the show's plan, whatever the filter"),
});

export const SeatStatuses = z.strictObject({
  show_id: PublicId,
  name: z.string().describe("The show's name (a name change is a new layout)"),
  layout: z.int().describe("The layout version: the plan these statuses follow"),
  version: z.int().describe("The last change these statuses include"),
  statuses: z.string().describe("One character per seat, in plan order: a available, h held, b booked, x blocked"),
  categories: z.array(CategoryCount),
  zones: z.array(z.strictObject({ name: z.string(), total: z.int(), available: z.int() })),
});

export const ShowPlan = z.strictObject({
  show_id: PublicId,
  layout: z.int().describe("The layout version; the plan changes only with it"),
  max_seats_per_order: z.int().describe("The most seats one hold or booking may have"),
  plan: PlanSchema,
});

export const ShowSummary = z.strictObject({
  show_id: PublicId,
  name: z.string(),
  capacity: z.int(),
  available: z.int(),
  categories: z.array(CategoryCount).describe("Seats and available seats in each price category"),
});

export const ShowList = z.strictObject({
  shows: z.array(ShowSummary),
  next_cursor: z.string().nullable().describe("Pass as ?cursor= for the next page; null on the last page"),
});

export const ShowWritten = z.strictObject({ message: z.string(), show: ShowSummary });

export const SeatReset = z.strictObject({
  message: z.string(),
  show_id: PublicId,
  seat_id: PublicId,
  released: z.boolean(),
});

export const ShowReset = z.strictObject({ message: z.string(), show_id: PublicId, released: z.int() });

export const SeatsBlocked = z.strictObject({
  message: z.string(),
  show_id: PublicId,
  seat_ids: z.array(PublicId),
  reason: z.string(),
});

export const SeatsUnblocked = z.strictObject({ message: z.string(), show_id: PublicId, seat_ids: z.array(PublicId) });

export const WaitingRoom = z
  .strictObject({
    show_id: PublicId,
    on: z.boolean(),
    opens_at: Timestamp.optional(),
    admit_per_minute: z.int().optional(),
    session_minutes: z.int().optional(),
    shards: z.int().optional().describe("Objects the queue's tickets are spread over"),
  })
  .describe("Whether the show's waiting room is on, and its settings when it is");

export const WaitingRoomWritten = z.strictObject({ message: z.string(), waiting_room: WaitingRoom });

export const WaitingRoomOff = z.strictObject({ message: z.string(), show_id: PublicId });

const Waiting = {
  ticket_id: z.string(),
  state: z.literal("waiting"),
  position: z.int().min(1).nullable().describe("1 for the next buyer in; null before opening, when the order is drawn"),
  estimated_wait_seconds: z.int().min(0),
  retry_after: z.int().min(0).describe("Seconds until the next poll is welcome (also the Retry-After header)"),
};

export const QueueJoined = z.strictObject({
  ...Waiting,
  ticket_token: z.string().describe("Secret every later call on the ticket needs; returned once"),
});

export const QueueStatus = z.union([
  z.strictObject(Waiting),
  z.strictObject({
    ticket_id: z.string(),
    state: z.literal("admitted"),
    pass: z.string().describe("Send as the Admission-Pass header with holds and bookings of this show"),
    pass_expires_at: Timestamp,
  }),
]);

export const QueueLeft = z.strictObject({ message: z.string(), ticket_id: z.string() });

export const AuditPage = z.strictObject({
  show_id: PublicId,
  entries: z.array(
    z.strictObject({
      seq: z.int(),
      seat_id: PublicId,
      old_status: SeatStatus,
      new_status: SeatStatus,
      actor: z.string(),
      route: z.string(),
      ref: z.string().nullable(),
      note: z.string().nullable(),
      at: Timestamp,
    }),
  ),
  next_after: z.int().nullable(),
});
