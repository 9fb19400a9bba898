/**
 * Trials that gain confidence by repetition (concurrent rotations, lease stress, kill rounds) run
 * a small count in `npm test` and their full count in `npm run test:soak` (ACCTCTL_SOAK=1), which
 * CI runs too. The full count is the one these tests always had.
 */
export const SOAK = process.env.ACCTCTL_SOAK === '1';

/** `quick` in `npm test`, `full` under `npm run test:soak`. */
export function soakCount(quick: number, full: number): number {
  return SOAK ? full : quick;
}
