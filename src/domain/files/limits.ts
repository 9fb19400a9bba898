import * as v from 'valibot';
import { fields, wholeNumber } from './schema.js';
import { ACTIVE_HOURS_HELP, parseActiveHours } from '../pacing.js';

/**
 * The limits override file (`accounts limits NAME FILE`, `tenants limits NAME FILE`), as operators
 * write it: per action, times in seconds.
 *
 *   { "invite": { "per_day": 10, "gap_seconds": [30, 90], "burst": { "count": 3, "pause_seconds": 600 } },
 *     "flood_threshold_seconds": 300 }
 */
/** The ranges (README "Defaults"): counts up to 10,000, pauses up to 7 days. */
export const MAX_LIMIT_COUNT = 10_000;
export const MAX_GAP_SECONDS = 7 * 86_400;

const COUNT = `a whole number 0–${MAX_LIMIT_COUNT}`;
const SECONDS = `seconds, a whole number 0–${MAX_GAP_SECONDS} (7 days)`;
const GAP = `seconds 0–${MAX_GAP_SECONDS} (7 days), or [min, max] seconds with min ≤ max`;

const countField = (what: string) => v.optional(wholeNumber(what, 0, MAX_LIMIT_COUNT));
const secondsField = wholeNumber(SECONDS, 0, MAX_GAP_SECONDS);

const gapSeconds = v.union(
  [
    wholeNumber(GAP, 0, MAX_GAP_SECONDS),
    v.pipe(
      v.strictTuple([wholeNumber(GAP, 0, MAX_GAP_SECONDS), wholeNumber(GAP, 0, MAX_GAP_SECONDS)], GAP),
      v.check(([min, max]) => min <= max, GAP),
    ),
  ],
  GAP,
);

const burst = v.nullable(
  fields(
    {
      count: wholeNumber(`a whole number 1–${MAX_LIMIT_COUNT}`, 1, MAX_LIMIT_COUNT),
      pause_seconds: secondsField,
    },
    {
      typeMessage: '{ "count": n ≥ 1, "pause_seconds": s }, or null',
      unknownMessage: 'unknown setting',
      required: { count: `a whole number 1–${MAX_LIMIT_COUNT}`, pause_seconds: SECONDS },
    },
  ),
);

export const ACTION_LIMITS_SCHEMA = fields(
  {
    per_day: countField(COUNT),
    per_hour: countField(COUNT),
    per_channel_per_day: v.optional(v.nullable(wholeNumber(`${COUNT}, or null`, 0, MAX_LIMIT_COUNT))),
    gap_seconds: v.optional(gapSeconds),
    gap_after_failure_seconds: v.optional(v.nullable(wholeNumber(`${SECONDS}, or null`, 0, MAX_GAP_SECONDS))),
    burst: v.optional(burst),
  },
  { typeMessage: 'must be an object', unknownMessage: 'unknown setting' },
);

/**
 * An action the operator declares with its own limits (`"actions": { "scrape": { "per_day": 50 } }`):
 * leases, `record` and `limits check` then know it for the tenant's (or the account's) accounts. A
 * limit left out does not apply. The four actions are set at the top level; `parsing` has no quota.
 */
export const DECLARED_ACTION_NAME = /^[a-z][a-z0-9_]{0,31}$/;
const RESERVED_ACTIONS = ['join', 'invite', 'message', 'contact', 'parsing'];
const NAME = `an action name: a–z, digits and _ (up to 32), not ${RESERVED_ACTIONS.join(', ')}`;

const DECLARED = '{ "NAME": { "per_day": n, … } }: the declared actions and their limits';
const declaredActions = v.pipe(
  v.unknown(),
  v.check((x) => !Array.isArray(x), DECLARED),
  v.record(
    v.pipe(
      v.string(),
      v.regex(DECLARED_ACTION_NAME, NAME),
      v.check((s) => !RESERVED_ACTIONS.includes(s), NAME),
    ),
    ACTION_LIMITS_SCHEMA,
    DECLARED,
  ),
);

export const LIMITS_FILE_SCHEMA = fields(
  {
    flood_threshold_seconds: v.optional(wholeNumber('seconds, a whole number 0–86400', 0, 86_400)),
    actions: v.optional(declaredActions),
    active_hours: v.optional(
      v.pipe(
        v.string(ACTIVE_HOURS_HELP),
        v.check((s) => parseActiveHours(s) !== undefined, ACTIVE_HOURS_HELP),
      ),
    ),
    join: v.optional(ACTION_LIMITS_SCHEMA),
    invite: v.optional(ACTION_LIMITS_SCHEMA),
    message: v.optional(ACTION_LIMITS_SCHEMA),
    contact: v.optional(ACTION_LIMITS_SCHEMA),
  },
  {
    typeMessage:
      'must be an object keyed by action (join, invite, message, contact), flood_threshold_seconds, or actions (declared ones)',
    unknownMessage: 'unknown action (join, invite, message, contact; declare others under "actions")',
  },
);

export type LimitsFile = v.InferOutput<typeof LIMITS_FILE_SCHEMA>;
export type ActionLimitsFile = v.InferOutput<typeof ACTION_LIMITS_SCHEMA>;
