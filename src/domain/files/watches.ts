import * as v from 'valibot';
import type { ParseResult } from '../result.js';
import { validTenantName } from '../tenants.js';
import { fields, parseWith } from './schema.js';

/** The watches file (`watch import FILE`): a JSON array of `{ tenant, username, kind? }`. */
export const WATCH_KINDS = ['exists', 'followers', 'following'] as const;

export interface WatchInput {
  tenant: string;
  username: string;
  kind: (typeof WATCH_KINDS)[number];
}

const TENANT = 'required, a tenant name';
const USERNAME = 'required, an Instagram username';

const WATCH_ROW = fields(
  {
    tenant: v.pipe(v.string(TENANT), v.check(validTenantName, TENANT)),
    username: v.pipe(
      v.string(USERNAME),
      v.transform((s) => s.trim().replace(/^@/, '').toLowerCase()),
      v.regex(/^[a-z0-9._]{1,30}$/, USERNAME),
    ),
    kind: v.optional(v.picklist(WATCH_KINDS, `one of ${WATCH_KINDS.join(', ')}`), 'exists'),
  },
  {
    typeMessage: 'must be an object {tenant, username, kind}',
    required: { tenant: 'a tenant name', username: 'an Instagram username' },
  },
);

export const WATCHES_FILE_SCHEMA = v.pipe(
  v.array(WATCH_ROW, 'must be a JSON array of {tenant, username, kind}'),
  v.check((rows) => rows.length > 0, 'the file holds no watches'),
);

export function parseWatches(data: unknown): ParseResult<WatchInput[]> {
  return parseWith(WATCHES_FILE_SCHEMA, data);
}
