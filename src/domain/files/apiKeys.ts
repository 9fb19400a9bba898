import * as v from 'valibot';
import type { ParseResult } from '../result.js';
import { validTenantName } from '../tenants.js';
import { fields, parseWith } from './schema.js';

/** The API keys file (`apikeys import FILE`): a JSON array of `{ tenant, provider, key }`. The key is a secret. */
export interface ApiKeyInput {
  tenant: string;
  provider: string;
  key: string;
}

const TENANT = 'a tenant name';
const PROVIDER = "the provider's name in ACCTCTL_API_PROVIDERS";
const KEY = 'the API key (8+ characters)';

const API_KEY_ROW = fields(
  {
    tenant: v.pipe(v.string(`required, ${TENANT}`), v.check(validTenantName, `required, ${TENANT}`)),
    provider: v.pipe(v.string(`required, ${PROVIDER}`), v.regex(/^[\w.-]{1,64}$/, `required, ${PROVIDER}`)),
    key: v.pipe(v.string(`required, ${KEY}`), v.minLength(8, `required, ${KEY}`)),
  },
  {
    typeMessage: 'must be an object {tenant, provider, key}',
    required: { tenant: TENANT, provider: PROVIDER, key: KEY },
  },
);

export const API_KEYS_FILE_SCHEMA = v.array(API_KEY_ROW, 'must be a JSON array of {tenant, provider, key}');

export function parseApiKeys(data: unknown): ParseResult<ApiKeyInput[]> {
  return parseWith(API_KEYS_FILE_SCHEMA, data);
}
