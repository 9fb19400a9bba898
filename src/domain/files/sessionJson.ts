import type { DeviceFields } from '../device.js';

/**
 * The `.json` beside a `.session` file, as account markets and converters write it. Keys vary by
 * seller: `app_id`/`api_id`, `app_hash`/`api_hash`, `phone`, `device`/`device_model`,
 * `sdk`/`system_version`, `app_version`, `lang_pack`/`lang_code`,
 * `system_lang_pack`/`system_lang_code`, `twoFA`, and any others. The known ones are read; the
 * rest (twoFA among them) is kept as it is, to be stored encrypted. Problems never quote a value.
 */
export interface SessionJson {
  apiId: number | null;
  apiHash: string | null;
  phone: string | null;
  device: DeviceFields;
  /** Everything else the file holds (twoFA, register_time, names, proxy…): kept, stored encrypted. */
  meta: Record<string, unknown>;
}

const DEVICE_KEYS: Record<string, keyof DeviceFields> = {
  device: 'model',
  device_model: 'model',
  sdk: 'systemVersion',
  system_version: 'systemVersion',
  app_version: 'appVersion',
  lang_pack: 'langCode',
  lang_code: 'langCode',
  system_lang_pack: 'systemLangCode',
  system_lang_code: 'systemLangCode',
};

export function parseSessionJson(data: unknown): { ok: true; value: SessionJson } | { ok: false; problems: string[] } {
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { ok: false, problems: ['(top level): must be a JSON object'] };
  const o = data as Record<string, unknown>;
  const problems: string[] = [];
  const out: SessionJson = { apiId: null, apiHash: null, phone: null, device: {}, meta: {} };
  const blank = (x: unknown) => x === undefined || x === null || x === '';
  for (const [k, x] of Object.entries(o)) {
    if (k === 'app_id' || k === 'api_id') {
      if (blank(x)) continue;
      const n = typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1)
        problems.push(`${k}: must be a positive integer`);
      else out.apiId = n;
    } else if (k === 'app_hash' || k === 'api_hash') {
      if (blank(x)) continue;
      if (typeof x !== 'string' || !/^[0-9a-f]{32}$/i.test(x.trim())) problems.push(`${k}: must be 32 hex characters`);
      else out.apiHash = x.trim().toLowerCase();
    } else if (k === 'phone') {
      if (blank(x)) continue;
      const p = (typeof x === 'number' ? String(x) : typeof x === 'string' ? x : '').replace(/[\s()+-]/g, '');
      if (!/^[1-9]\d{6,14}$/.test(p))
        problems.push('phone: must be an international phone number such as +15551234567');
      else out.phone = `+${p}`;
    } else if (k in DEVICE_KEYS) {
      if (blank(x)) continue;
      const t = typeof x === 'number' ? String(x) : x;
      if (typeof t !== 'string' || t.trim().length === 0 || t.length > 128)
        problems.push(`${k}: must be a non-empty string (up to 128)`);
      else out.device[DEVICE_KEYS[k]!] = t.trim();
    } else {
      out.meta[k] = x;
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: out };
}
