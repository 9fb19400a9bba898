import * as v from 'valibot';
import { parseProxyUrl, type ProxySpec } from '../proxyUrl.js';
import { why } from '../result.js';
import { validTenantName } from '../tenants.js';
import { blankAsAbsent } from './schema.js';

/**
 * The Instagram import file (`ig import FILE`): a JSON array of
 * `{ tenant, username, password, totp_secret?, sessionid?, proxy?, priority? }`.
 * Problems never quote a secret.
 */

/** Normalise a TOTP secret as authenticator apps show it (spaces, lower case). */
export function normaliseTotpSecret(s: string): string {
  return s.replace(/[\s-]/g, '').toUpperCase().replace(/=+$/, '');
}

const TENANT = 'a tenant name';
const USERNAME = 'an Instagram username';
const PASSWORD = 'a non-empty string';

/** A proxy a browser can use: http://, or socks5:// without a password (Chromium cannot send one). */
const browserProxy = v.pipe(
  v.string('must be a proxy URL string'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const r = parseProxyUrl(dataset.value);
    if (!r.ok) {
      addIssue({ message: why(r) });
      return NEVER;
    }
    const p: ProxySpec = r.value;
    if (p.scheme === 'mtproxy' || p.scheme === 'socks4') {
      addIssue({ message: 'a browser needs an http:// or socks5:// proxy' });
      return NEVER;
    }
    if (p.scheme === 'socks5' && p.password) {
      addIssue({
        message:
          'Chromium cannot authenticate to a SOCKS5 proxy → use an http:// proxy with a password, or SOCKS5 without one',
      });
      return NEVER;
    }
    return p;
  }),
);

/** An `ig import` priority's range (README "Defaults"); the store column is a 32-bit integer. */
export const MAX_PRIORITY = 1_000_000;
const PRIORITY = `a whole number from -${MAX_PRIORITY} to ${MAX_PRIORITY}`;

/** One row; `checkTotp` is otplib's own check of a secret (an error message, or null). */
export function igAccountRowSchema(checkTotp: (secret: string) => Promise<string | null>) {
  return v.pipeAsync(
    v.unknown(),
    v.check((x) => !Array.isArray(x), 'must be an object'),
    v.objectWithRestAsync(
      {
        tenant: v.pipe(v.string(TENANT), v.check(validTenantName, TENANT)),
        username: v.pipe(
          v.string(USERNAME),
          v.transform((s) => s.trim().replace(/^@/, '').toLowerCase()),
          v.regex(/^[a-z0-9._]{1,30}$/, `${USERNAME} (letters, digits, . and _, up to 30)`),
        ),
        password: v.pipe(v.string(PASSWORD), v.minLength(1, PASSWORD)),
        totp_secret: blankAsAbsentAsync(
          v.pipeAsync(
            v.string('must be the base32 secret as a string'),
            v.transform(normaliseTotpSecret),
            v.rawCheckAsync(async ({ dataset, addIssue }) => {
              if (!dataset.typed) return;
              const problem = await checkTotp(dataset.value);
              if (problem) addIssue({ message: problem });
            }),
          ),
        ),
        sessionid: blankAsAbsent(
          v.pipe(
            v.string(),
            v.regex(/^\d+(%3A|:)[^\s;]{10,}$/, "must look like <user id>%3A… (the sessionid cookie's value)"),
          ),
        ),
        proxy: blankAsAbsent(browserProxy),
        priority: v.optional(
          v.pipe(
            v.number(PRIORITY),
            v.integer(PRIORITY),
            v.minValue(-MAX_PRIORITY, PRIORITY),
            v.maxValue(MAX_PRIORITY, PRIORITY),
          ),
          0,
        ),
      },
      v.never('unknown field'),
      (issue) => {
        if (issue.expected === 'Object') return 'must be an object';
        const key = issue.path?.at(-1)?.key;
        return key === 'tenant'
          ? `required, ${TENANT}`
          : key === 'username'
            ? `required, ${USERNAME}`
            : key === 'password'
              ? `required, ${PASSWORD}`
              : 'required';
      },
    ),
  );
}

function blankAsAbsentAsync<S extends v.GenericSchemaAsync>(schema: S) {
  return v.optionalAsync(
    v.pipeAsync(
      v.unknown(),
      v.transform((x) => (x === null || x === '' ? undefined : x)),
      v.optionalAsync(schema),
    ),
  );
}

/** The whole file: an array of rows, at least one. */
export function igAccountsFileSchema(checkTotp: (secret: string) => Promise<string | null>) {
  return v.pipeAsync(
    v.arrayAsync(igAccountRowSchema(checkTotp), 'must be a JSON array of Instagram accounts'),
    v.check((rows) => rows.length > 0, 'the file holds no accounts'),
  );
}

export type IgAccountRow = v.InferOutput<ReturnType<typeof igAccountRowSchema>>;
