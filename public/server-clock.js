// @ts-check
/**
 * The server's time, as the page works it out from its answers' `Date` headers. Holds and passes
 * end at the server's times (`expires_at`, `pass_expires_at`), and a browser's clock may be minutes
 * off: counted on the browser's, a hold could end on the page while the server still keeps it (or
 * the reverse). `Date` has whole seconds, so this is good to about a second.
 */

/** The server's clock less the browser's, in ms, as of the last answer that said; 0 before one did. */
let offset = 0;

/** Notes the server's time from an answer's `Date` header, if it has one. @param {Response} response */
export function noteServerTime(response) {
  const served = Date.parse(response.headers.get("date") ?? "");
  // Taken as of the middle of the second the header names.
  if (Number.isFinite(served)) offset = served + 500 - Date.now();
}

/** The server's time now, in ms since the epoch, as best the page knows it. */
export function serverNow() {
  return Date.now() + offset;
}
