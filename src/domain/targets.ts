import type { TargetRef } from './links.js';

/** Warm-up after a join: the group goes to no account (lease --channel) until it ends. */
export const WARMUP_MS = 24 * 3_600_000;
/** How often join asks Telegram whether a pending join request was approved. */
export const PENDING_RECHECK_MS = 6 * 3_600_000;

/** A stored target (`kind`, `value`) as the link it stands for. */
export function targetRefOf(kind: string, value: string): TargetRef {
  return kind === 'invite' ? { kind: 'invite', hash: value } : { kind: 'username', username: value };
}
