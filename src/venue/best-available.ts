/**
 * Best available: the block of N free seats next to each other in one row that is closest to
 * the plan's focal point (the stage, or the front centre).
 *
 * Seats are numbered in plan order, and a run (seats adjacent in one row, no aisle between them)
 * is a range of consecutive numbers, so every candidate block is a window of N numbers inside one
 * run. One pass over the seats looks at every window with sliding sums, so a 100,000-seat plan
 * costs one linear scan and no allocation per window.
 */

/** The seats of a layout as best available reads them, indexed by seat number. */
export interface SeatGrid {
  /** First seat number of each run, ascending, then the seat count. */
  runStarts: Int32Array;
  category: Uint16Array;
  zone: Uint16Array;
  x: Float64Array;
  y: Float64Array;
  /** 0 for an available seat; anything else is taken (held, booked or blocked). */
  status: Uint8Array;
  focal: { x: number; y: number };
}

export interface BestAvailableRequest {
  count: number;
  /** Category number, or -1 for any. */
  category: number;
  /** Zone number, or -1 for any. */
  zone: number;
}

/**
 * Squared distances within this fraction of each other count as equal rank, so that the tie rule
 * below decides: a fraction, not an amount, since a plan may be drawn in any units (seats 30 apart,
 * or 0.00003).
 */
const SAME_RANK = 1e-9;

/**
 * The first seat number of the best block, or -1 when no block of `count` free seats fits in any
 * run. Blocks rank by the distance from their centre to the focal point; among blocks of equal
 * rank, one that leaves no single free seat stranded next to it beats one that does.
 */
export function bestBlock(grid: SeatGrid, { count, category, zone }: BestAvailableRequest): number {
  const { runStarts, status, x, y, focal } = grid;
  let best = -1;
  let bestDistance = Infinity;
  let bestStrands = true;
  for (let r = 0; r + 1 < runStarts.length; r++) {
    const start = runStarts[r]!;
    const end = runStarts[r + 1]!;
    if (end - start < count) continue;
    // Sliding window over the run: how many seats in it qualify, and the sums of their places.
    let fit = 0;
    let sumX = 0;
    let sumY = 0;
    for (let i = start; i < end; i++) {
      if (qualifies(grid, i, category, zone)) fit++;
      sumX += x[i]!;
      sumY += y[i]!;
      const first = i - count + 1;
      if (first > start) {
        const leaving = first - 1;
        if (qualifies(grid, leaving, category, zone)) fit--;
        sumX -= x[leaving]!;
        sumY -= y[leaving]!;
      }
      if (first < start || fit < count) continue;
      // Squared: the order is the same, and no square root is taken per window.
      const dx = sumX / count - focal.x;
      const dy = sumY / count - focal.y;
      const distance = dx * dx + dy * dy;
      const margin = best === -1 ? 0 : bestDistance * SAME_RANK;
      if (distance > bestDistance + margin) continue;
      const strands = strandsOne(status, start, end, first - 1, -1) || strandsOne(status, start, end, i + 1, 1);
      if (best === -1 || distance < bestDistance - margin || (bestStrands && !strands)) {
        best = first;
        bestDistance = distance;
        bestStrands = strands;
      }
    }
  }
  return best;
}

function qualifies(grid: SeatGrid, seat: number, category: number, zone: number): boolean {
  return (
    grid.status[seat] === 0 &&
    (category < 0 || grid.category[seat] === category) &&
    (zone < 0 || grid.zone[seat] === zone)
  );
}

/**
 * Whether taking a block whose neighbour (outside it, going `step` away) is `seat` would leave
 * that neighbour free and alone: free, with a taken seat or the end of the run beyond it.
 */
function strandsOne(status: Uint8Array, start: number, end: number, seat: number, step: 1 | -1): boolean {
  if (seat < start || seat >= end || status[seat] !== 0) return false;
  const beyond = seat + step;
  return beyond < start || beyond >= end || status[beyond] !== 0;
}

/**
 * The grid of a layout's seats (in plan order, each with its zone, category, place and run), with
 * every seat available; zones are numbered in the order they first appear.
 */
export function seatGrid(
  seats: readonly { zone: string; category: string; x: number; y: number; run: number }[],
  categories: readonly string[],
  focal: { x: number; y: number },
): { grid: SeatGrid; zones: string[] } {
  const count = seats.length;
  const categoryNumber = new Map(categories.map((name, i) => [name, i]));
  const zoneNumber = new Map<string, number>();
  const runStarts: number[] = [];
  const grid = {
    category: new Uint16Array(count),
    zone: new Uint16Array(count),
    x: new Float64Array(count),
    y: new Float64Array(count),
    status: new Uint8Array(count),
    focal,
  };
  seats.forEach((seat, i) => {
    if (!zoneNumber.has(seat.zone)) zoneNumber.set(seat.zone, zoneNumber.size);
    grid.zone[i] = zoneNumber.get(seat.zone)!;
    grid.category[i] = categoryNumber.get(seat.category) ?? 0;
    grid.x[i] = seat.x;
    grid.y[i] = seat.y;
    if (i === 0 || seat.run !== seats[i - 1]!.run) runStarts.push(i);
  });
  runStarts.push(count);
  return { grid: { ...grid, runStarts: Int32Array.from(runStarts) }, zones: [...zoneNumber.keys()] };
}
