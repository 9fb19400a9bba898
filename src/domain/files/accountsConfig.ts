import * as v from 'valibot';
import { fernetDecrypt, FernetError, looksLikeFernetToken } from '../../security/fernet.js';
import { parseProxyUrl } from '../proxyUrl.js';
import { why } from '../result.js';
import { parseStringSession } from '../stringSession.js';
import { validTenantName } from '../tenants.js';
import { isTimeZoneName, TIME_ZONE_HELP } from '../pacing.js';
import { blankAsAbsent, fields } from './schema.js';

/**
 * One row of the Python SmartJoiner's accounts_config.json (extended):
 * `{ session_name, api_id, api_hash, string_session, proxy?, tenant?, phone?, device? }`.
 * Secret fields may be Fernet tokens exported by the old system: decrypted with `fernetKey`.
 * Problems never quote a secret.
 */

/** gramjs speaks MTProto over SOCKS or MTProxy only: an HTTP proxy would fail every run. */
export const HTTP_PROXY_FOR_TELEGRAM =
  'http:// proxies cannot carry Telegram’s protocol (MTProto) → use a socks5://, socks4:// or mtproxy:// proxy for this account';

const SESSION_NAME = 'letters, digits, _ . + - (up to 64)';
const API_ID = 'a positive integer';
const SECRET = 'a non-empty string';
const TENANT = 'letters, digits, _ . - (up to 64)';
const PHONE = 'an international phone number such as +15551234567';

/** A secret text field, decrypted when the old system exported it as a Fernet token. */
function secretField(fernetKey: string | undefined) {
  return v.pipe(
    v.string(`required, ${SECRET}`),
    v.transform((s) => s.trim()),
    v.minLength(1, `required, ${SECRET}`),
    v.rawTransform(({ dataset, addIssue, NEVER }) => {
      const s = dataset.value;
      if (!looksLikeFernetToken(s)) return s;
      if (!fernetKey) {
        addIssue({ message: 'is a Fernet token from the old system → pass --fernet-key-file FILE' });
        return NEVER;
      }
      try {
        return fernetDecrypt(s, fernetKey).toString('utf8');
      } catch (e) {
        addIssue({
          message: `cannot decrypt the Fernet token (${e instanceof FernetError ? e.message : 'invalid'})`,
        });
        return NEVER;
      }
    }),
  );
}

const DEVICE_TEXT = 'a non-empty string (up to 128)';
const deviceText = blankAsAbsent(
  v.pipe(v.string(DEVICE_TEXT), v.trim(), v.minLength(1, DEVICE_TEXT), v.maxLength(128, DEVICE_TEXT)),
);

/** The device an account connects as: `{ model, systemVersion, appVersion, langCode, systemLangCode }`, each optional. */
export const deviceSchema = fields(
  {
    model: deviceText,
    systemVersion: deviceText,
    appVersion: deviceText,
    langCode: deviceText,
    systemLangCode: deviceText,
  },
  {
    typeMessage: 'must be an object { model, systemVersion, appVersion, langCode, systemLangCode }',
    unknownMessage: 'unknown field (a device has model, systemVersion, appVersion, langCode, systemLangCode)',
  },
);

/** What a session name may be (also how a repeated one is recognised). */
export const SESSION_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;

export function accountRowSchema(opts: { fernetKey?: string | undefined } = {}) {
  return fields(
    {
      session_name: v.pipe(
        v.string(`required; ${SESSION_NAME}`),
        v.regex(SESSION_NAME_RE, `required; ${SESSION_NAME}`),
      ),
      api_id: v.pipe(
        v.union(
          [
            v.number(`required, ${API_ID}`),
            v.pipe(v.string(`required, ${API_ID}`), v.regex(/^\d+$/, `required, ${API_ID}`)),
          ],
          `required, ${API_ID}`,
        ),
        v.transform(Number),
        v.integer(`required, ${API_ID}`),
        v.minValue(1, `required, ${API_ID}`),
        v.maxValue(2 ** 31 - 1, `required, ${API_ID}`),
      ),
      api_hash: v.pipe(
        secretField(opts.fernetKey),
        v.regex(/^[0-9a-f]{32}$/i, 'must be 32 hex characters'),
        v.transform((s) => s.toLowerCase()),
      ),
      string_session: v.pipe(
        secretField(opts.fernetKey),
        v.rawTransform(({ dataset, addIssue, NEVER }) => {
          const r = parseStringSession(dataset.value);
          if (r.ok) return r.value;
          addIssue({ message: why(r) });
          return NEVER;
        }),
      ),
      proxy: blankAsAbsent(
        v.pipe(
          v.string('must be a proxy URL string'),
          v.rawTransform(({ dataset, addIssue, NEVER }) => {
            const r = parseProxyUrl(dataset.value);
            if (!r.ok) addIssue({ message: why(r) });
            else if (r.value.scheme === 'http') addIssue({ message: HTTP_PROXY_FOR_TELEGRAM });
            else return r.value;
            return NEVER;
          }),
        ),
      ),
      tenant: v.optional(v.nullable(v.pipe(v.string(TENANT), v.check(validTenantName, TENANT)))),
      timezone: v.optional(v.nullable(v.pipe(v.string(TIME_ZONE_HELP), v.check(isTimeZoneName, TIME_ZONE_HELP)))),
      new: v.optional(v.boolean('true (a new account: warm-up ramp) or false')),
      device: v.optional(v.nullable(deviceSchema)),
      phone: blankAsAbsent(
        v.pipe(
          v.union([v.pipe(v.number(PHONE), v.transform(String)), v.string(PHONE)], PHONE),
          v.transform((p) => p.replace(/[\s()-]/g, '')),
          v.regex(/^\+?[1-9]\d{6,14}$/, PHONE),
          v.transform((p) => '+' + p.replace(/\+/g, '')),
        ),
      ),
    },
    {
      typeMessage: 'must be an object',
      required: {
        session_name: SESSION_NAME,
        api_id: API_ID,
        api_hash: SECRET,
        string_session: SECRET,
      },
    },
  );
}

export type AccountRow = v.InferOutput<ReturnType<typeof accountRowSchema>>;
