// @ts-check
/**
 * The shapes of ids, in one module that the Worker (src/ids.ts) and the seat map page both
 * import, so the page never disagrees with the API about what an id may look like.
 */

/** The characters and length a show, seat or user id may have when it is a string. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** An id the API writes back as a JSON number: a plain decimal integer that is also a safe integer. */
export const PLAIN_INTEGER = /^[1-9][0-9]{0,15}$/;

/**
 * A hold or booking id: its show's id, a dot, and 22 random base64url characters. The first
 * group captures the show.
 */
export const REF_PATTERN = /^([A-Za-z0-9_-]{1,64})\.[A-Za-z0-9_-]{22}$/;
