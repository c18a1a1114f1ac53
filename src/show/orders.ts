import type { Origin } from "./types";

/** Holds and bookings a show's object decided since it started (a replayed answer is not one), and those with an admission pass. */
export class OrderCounts {
  orders = 0;
  ordersWithPass = 0;

  count(origin: Origin): void {
    this.orders++;
    if (origin.pass) this.ordersWithPass++;
  }
}
