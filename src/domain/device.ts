import { createHash } from 'node:crypto';

/**
 * The device a Telegram account connects as (initConnection's deviceModel, systemVersion,
 * appVersion, langCode, systemLangCode). Telegram lists it under the account's "Active sessions";
 * a whole fleet on gramjs's defaults is one fingerprint, so each account keeps its own: from its
 * session's .json or accounts_config, else chosen once from DEVICE_TABLE and stored.
 */
export interface TelegramDevice {
  model: string;
  systemVersion: string;
  appVersion: string;
  langCode: string;
  systemLangCode: string;
}

/**
 * Devices of Telegram's own desktop and mobile apps, as their initConnection reports them (the
 * values account-market .json files carry: `device`, `sdk`, `app_version`).
 */
export const DEVICE_TABLE: readonly TelegramDevice[] = [
  // Telegram Desktop (Windows, macOS, Linux)
  { model: 'Desktop', systemVersion: 'Windows 10', appVersion: '5.2.3 x64', langCode: 'en', systemLangCode: 'en-US' },
  { model: 'Desktop', systemVersion: 'Windows 11', appVersion: '5.5.5 x64', langCode: 'en', systemLangCode: 'en-US' },
  { model: 'PC 64bit', systemVersion: 'Windows 10', appVersion: '4.16.8 x64', langCode: 'en', systemLangCode: 'en-GB' },
  {
    model: 'MacBook Pro',
    systemVersion: 'macOS 14.4.1',
    appVersion: '10.9.2',
    langCode: 'en',
    systemLangCode: 'en-US',
  },
  {
    model: 'MacBook Air',
    systemVersion: 'macOS 13.6.6',
    appVersion: '10.8.1',
    langCode: 'en',
    systemLangCode: 'en-US',
  },
  {
    model: 'Desktop',
    systemVersion: 'Linux Ubuntu 22.04',
    appVersion: '5.1.7',
    langCode: 'en',
    systemLangCode: 'en-US',
  },
  // Telegram for Android
  {
    model: 'Samsung SM-G991B',
    systemVersion: 'SDK 33',
    appVersion: '10.14.5 (47741)',
    langCode: 'en',
    systemLangCode: 'en-US',
  },
  {
    model: 'Samsung SM-A525F',
    systemVersion: 'SDK 31',
    appVersion: '10.12.0 (46521)',
    langCode: 'en',
    systemLangCode: 'en-GB',
  },
  {
    model: 'Xiaomi 2201117TG',
    systemVersion: 'SDK 33',
    appVersion: '10.13.2 (47287)',
    langCode: 'en',
    systemLangCode: 'en-US',
  },
  {
    model: 'Google Pixel 7',
    systemVersion: 'SDK 34',
    appVersion: '10.14.5 (47741)',
    langCode: 'en',
    systemLangCode: 'en-US',
  },
  {
    model: 'OnePlus LE2123',
    systemVersion: 'SDK 33',
    appVersion: '10.11.2 (46185)',
    langCode: 'en',
    systemLangCode: 'en-US',
  },
  // Telegram for iOS
  {
    model: 'iPhone 13',
    systemVersion: '17.4.1',
    appVersion: '10.9.1 (27749)',
    langCode: 'en',
    systemLangCode: 'en-US',
  },
  {
    model: 'iPhone 14 Pro',
    systemVersion: '17.5',
    appVersion: '10.11 (28041)',
    langCode: 'en',
    systemLangCode: 'en-US',
  },
  { model: 'iPhone 12', systemVersion: '16.7.7', appVersion: '10.8 (27412)', langCode: 'en', systemLangCode: 'en-GB' },
  { model: 'iPad Air', systemVersion: '17.4', appVersion: '10.9.1 (27749)', langCode: 'en', systemLangCode: 'en-US' },
];

/** The table's device for an account, picked by a hash of its name: the same name, the same device. */
export function chooseDevice(seed: string): TelegramDevice {
  const h = createHash('sha256').update(`acctctl-device:${seed}`).digest();
  return { ...DEVICE_TABLE[h.readUInt32BE(0) % DEVICE_TABLE.length]! };
}

/** Fields of a device a file may give (some of them); the rest come from the account's chosen one. */
export type DeviceFields = Partial<TelegramDevice>;

/** The kind of client a model name belongs to, so a completed device stays one real client. */
function platformOf(model: string): 'ios' | 'mac' | 'desktop' | 'android' {
  if (/iphone|ipad|ipod/i.test(model)) return 'ios';
  if (/mac/i.test(model)) return 'mac';
  if (/desktop|\bpc\b|windows|linux/i.test(model)) return 'desktop';
  return 'android';
}

/**
 * A file's device fields completed, else null when the file names none. Missing fields come from
 * a table device of the same kind (an iPhone model gets an iOS version and app), picked by `seed`.
 */
export function completeDevice(given: DeviceFields | null | undefined, seed: string): TelegramDevice | null {
  if (!given || Object.values(given).every((x) => x === undefined)) return null;
  let base = chooseDevice(seed);
  if (given.model !== undefined) {
    const same = DEVICE_TABLE.filter((d) => platformOf(d.model) === platformOf(given.model!));
    const h = createHash('sha256').update(`acctctl-device:${seed}`).digest();
    if (same.length) base = { ...same[h.readUInt32BE(0) % same.length]! };
  }
  return { ...base, ...Object.fromEntries(Object.entries(given).filter(([, x]) => x !== undefined)) };
}

/** The stored form (JSON) back to a device; null for none or a damaged value. */
export function parseStoredDevice(json: string | null): TelegramDevice | null {
  if (!json) return null;
  try {
    const o = JSON.parse(json) as Record<string, unknown>;
    const keys = ['model', 'systemVersion', 'appVersion', 'langCode', 'systemLangCode'] as const;
    if (keys.every((k) => typeof o[k] === 'string')) {
      return Object.fromEntries(keys.map((k) => [k, o[k]])) as unknown as TelegramDevice;
    }
  } catch {
    // fall through
  }
  return null;
}

export function storedDevice(d: TelegramDevice): string {
  return JSON.stringify({
    model: d.model,
    systemVersion: d.systemVersion,
    appVersion: d.appVersion,
    langCode: d.langCode,
    systemLangCode: d.systemLangCode,
  });
}
