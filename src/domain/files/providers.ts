import * as v from 'valibot';
import { fields } from './schema.js';

/**
 * The API providers file (ACCTCTL_API_PROVIDERS), keyed by provider name:
 *
 *   { "lookupco": {
 *       "url": "https://api.lookup.example/v1/instagram/{username}",
 *       "key_header": "X-API-Key",
 *       "found": { "status": 200, "path": "data.exists", "equals": true },
 *       "not_found": { "status": [404] },
 *       "quota_status": [402, 429] } }
 */
const STATUS = 'an HTTP status or a list of them';
const httpStatus = (message: string) =>
  v.pipe(v.number(message), v.integer(message), v.minValue(100, message), v.maxValue(599, message));

const rule = fields(
  {
    status: v.pipe(
      v.union([httpStatus(STATUS), v.array(httpStatus(STATUS), STATUS)], STATUS),
      v.transform((s) => (typeof s === 'number' ? [s] : s)),
    ),
    path: v.optional(
      v.pipe(
        v.string('a dotted path such as data.exists'),
        v.regex(/^[\w-]+(\.[\w-]+)*$/, 'a dotted path such as data.exists'),
      ),
    ),
    equals: v.optional(v.unknown()),
  },
  { typeMessage: 'must be an object with "status"', required: { status: STATUS } },
);

export const PROVIDER_SCHEMA = fields(
  {
    url: v.pipe(
      v.string('an http(s) URL containing {username}'),
      v.regex(/^https?:\/\/.+\{username\}/, 'an http(s) URL containing {username}'),
    ),
    key_header: v.pipe(
      v.string('the header that carries the key'),
      v.regex(/^[A-Za-z0-9-]+$/, 'the header that carries the key'),
    ),
    found: rule,
    not_found: rule,
    quota_status: v.optional(v.array(httpStatus('a list of HTTP statuses'), 'a list of HTTP statuses'), [429]),
  },
  {
    typeMessage: 'must be an object with url, key_header, found and not_found',
    required: {
      url: 'an http(s) URL containing {username}',
      key_header: 'the header that carries the key',
      found: 'the rule for "the account exists": { "status": … }',
      not_found: 'the rule for "no such account": { "status": … }',
    },
  },
);

export const PROVIDERS_FILE_SCHEMA = v.pipe(
  v.unknown(),
  v.check((x) => !Array.isArray(x), 'an object keyed by provider name'),
  v.record(v.string(), PROVIDER_SCHEMA, 'an object keyed by provider name'),
);

export type ProvidersFile = v.InferOutput<typeof PROVIDERS_FILE_SCHEMA>;
