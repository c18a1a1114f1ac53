// @ts-check
/**
 * The live seat map's one-character status codes, in one module that the Worker
 * (src/live/protocol.ts) and the seat map page both import.
 */

/** @type {Readonly<Record<"available" | "held" | "booked" | "blocked", string>>} */
export const STATUS_CODES = { available: "a", held: "h", booked: "b", blocked: "x" };

/** @type {Readonly<Record<string, "available" | "held" | "booked" | "blocked">>} */
export const STATUS_OF_CODE = { a: "available", h: "held", b: "booked", x: "blocked" };
