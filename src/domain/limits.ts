/** Default limits from DESIGN.md ("Limits"); issue 3 adds per-tenant and per-account overrides. */
export const ACTIONS = ['join', 'invite', 'message', 'contact'] as const;
export type Action = (typeof ACTIONS)[number];

export interface ActionLimits {
  perDay: number;
  perHour: number;
  perChannelPerDay: number | null;
  /** Pause after each action, milliseconds: [min, max] (random in between when they differ). */
  gapMs: readonly [number, number];
  gapAfterFailureMs: number | null;
  burst: { count: number; pauseMs: number } | null;
}

const MIN = 60_000;
export const DEFAULT_LIMITS: Readonly<Record<Action, ActionLimits>> = {
  invite: {
    perDay: 30,
    perHour: 5,
    perChannelPerDay: 15,
    gapMs: [2 * MIN, 2 * MIN],
    gapAfterFailureMs: null,
    burst: { count: 3, pauseMs: 5 * MIN },
  },
  message: {
    perDay: 30,
    perHour: 10,
    perChannelPerDay: null,
    gapMs: [1 * MIN, 1 * MIN],
    gapAfterFailureMs: null,
    burst: { count: 5, pauseMs: 3 * MIN },
  },
  contact: {
    perDay: 15,
    perHour: 3,
    perChannelPerDay: null,
    gapMs: [5 * MIN, 5 * MIN],
    gapAfterFailureMs: null,
    burst: { count: 2, pauseMs: 10 * MIN },
  },
  join: {
    perDay: 20,
    perHour: 6,
    perChannelPerDay: null,
    gapMs: [5 * MIN, 10 * MIN],
    gapAfterFailureMs: 60_000,
    burst: null,
  },
};
