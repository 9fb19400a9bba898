/**
 * Pacing of `recover --probe --all` (issue 23, item 6): every account is probed once a day, at its
 * own slot of the day, so a fleet's probes are spread over the day rather than all at once.
 */

export const DAY_MS = 86_400_000;
/** Slots are whole minutes of the (UTC) day. */
const SLOT_MS = 60_000;
const SLOTS = DAY_MS / SLOT_MS;
/**
 * Fibonacci hashing over the 1,440 slots: 889 ≈ 1440/φ and is coprime with 1440, so ids 1…1440
 * take every minute of the day once, and any run of consecutive ids lands spread evenly over the
 * day (a golden-ratio sequence), never in clusters. src/store/accounts.ts (scheduleFleetProbes)
 * computes the same in SQL.
 */
export const SLOT_MULTIPLIER = 889;

/**
 * The least time between two probes of one account by `--all`: an account probed on time (within
 * a few cron intervals of its slot) is probed again at the same slot the next day; one probed late
 * (a backlog past the batch bound) waits for the slot after that rather than being probed twice in
 * a few hours.
 */
export const PROBE_MIN_GAP_MS = 20 * 3_600_000;

/** The account's slot: ms after UTC midnight, derived from its id alone. */
export function probeSlotMs(accountId: number): number {
  return Number((BigInt(accountId) * BigInt(SLOT_MULTIPLIER)) % BigInt(SLOTS)) * SLOT_MS;
}

/** The first time at or after `from` that is the account's slot. */
export function nextSlotAt(accountId: number, from: number): number {
  const dayStart = from - (((from % DAY_MS) + DAY_MS) % DAY_MS);
  const at = dayStart + probeSlotMs(accountId);
  return at >= from ? at : at + DAY_MS;
}

/** When an account probed at `probedAt` is due again: its slot, at least PROBE_MIN_GAP_MS later. */
export function nextProbeDue(accountId: number, probedAt: number): number {
  return nextSlotAt(accountId, probedAt + PROBE_MIN_GAP_MS);
}
