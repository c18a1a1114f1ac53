/**
 * The show list's paging cursor: where the last page ended, in the list's order (creation time,
 * then show id), written `<created_at ms>.<show_id>`. Clients pass back what they were given;
 * its shape is a pattern, so the document can state exactly which cursors the API takes.
 */
export interface ListPosition {
  createdAt: number;
  showId: string;
}

export const CURSOR_PATTERN = /^(0|[1-9][0-9]{0,15})\.([A-Za-z0-9_-]{1,64})$/;

export function encodeCursor({ createdAt, showId }: ListPosition): string {
  return `${createdAt}.${showId}`;
}

/** The position a cursor of CURSOR_PATTERN's shape names. */
export function decodeCursor(cursor: string): ListPosition {
  const [, createdAt, showId] = CURSOR_PATTERN.exec(cursor)!;
  return { createdAt: Number(createdAt), showId: showId! };
}
