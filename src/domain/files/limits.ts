import * as v from 'valibot';
import { fields, wholeNumber } from './schema.js';

/**
 * The limits override file (`accounts limits NAME FILE`, `tenants limits NAME FILE`), as operators
 * write it: per action, times in seconds.
 *
 *   { "invite": { "per_day": 10, "gap_seconds": [30, 90], "burst": { "count": 3, "pause_seconds": 600 } },
 *     "flood_threshold_seconds": 300 }
 */
const count = (what: string) => v.optional(wholeNumber(what));
const orNull = (what: string) => v.optional(v.nullable(wholeNumber(what)));

const gapSeconds = v.union(
  [
    wholeNumber('seconds, or [min, max] seconds'),
    v.pipe(
      v.strictTuple(
        [wholeNumber('seconds, or [min, max] seconds'), wholeNumber('seconds, or [min, max] seconds')],
        'seconds, or [min, max] seconds',
      ),
      v.check(([min, max]) => min <= max, 'seconds, or [min, max] seconds'),
    ),
  ],
  'seconds, or [min, max] seconds',
);

const burst = v.nullable(
  fields(
    {
      count: wholeNumber('a whole number ≥ 1', 1),
      pause_seconds: wholeNumber('seconds, a whole number ≥ 0'),
    },
    {
      typeMessage: '{ "count": n ≥ 1, "pause_seconds": s }, or null',
      unknownMessage: 'unknown setting',
      required: { count: 'a whole number ≥ 1', pause_seconds: 'seconds, a whole number ≥ 0' },
    },
  ),
);

export const ACTION_LIMITS_SCHEMA = fields(
  {
    per_day: count('a whole number ≥ 0'),
    per_hour: count('a whole number ≥ 0'),
    per_channel_per_day: orNull('a whole number ≥ 0, or null'),
    gap_seconds: v.optional(gapSeconds),
    gap_after_failure_seconds: orNull('seconds, or null'),
    burst: v.optional(burst),
  },
  { typeMessage: 'must be an object', unknownMessage: 'unknown setting' },
);

export const LIMITS_FILE_SCHEMA = fields(
  {
    flood_threshold_seconds: v.optional(wholeNumber('seconds, a whole number 0–86400', 0, 86_400)),
    join: v.optional(ACTION_LIMITS_SCHEMA),
    invite: v.optional(ACTION_LIMITS_SCHEMA),
    message: v.optional(ACTION_LIMITS_SCHEMA),
    contact: v.optional(ACTION_LIMITS_SCHEMA),
  },
  {
    typeMessage: 'must be an object keyed by action (join, invite, message, contact), or flood_threshold_seconds',
    unknownMessage: 'unknown action (join, invite, message, contact)',
  },
);

export type LimitsFile = v.InferOutput<typeof LIMITS_FILE_SCHEMA>;
export type ActionLimitsFile = v.InferOutput<typeof ACTION_LIMITS_SCHEMA>;
