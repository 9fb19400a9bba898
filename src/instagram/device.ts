/**
 * The browser identity an Instagram account shows every time (issue 9): chosen once per account,
 * stored in the store (not secret), and reused by refresh-session's Chromium and by check's HTTP
 * requests, so Instagram sees one device per account.
 */
export interface DeviceIdentity {
  userAgent: string;
  viewport: { width: number; height: number };
  locale: string;
  timezoneId: string;
}

/** Browser state as Playwright's `storageState` has it: cookies and localStorage per origin. */
export interface StorageState {
  cookies: {
    name: string;
    value: string;
    domain: string;
    path: string;
    expires: number;
    httpOnly: boolean;
    secure: boolean;
    sameSite: 'Strict' | 'Lax' | 'None';
  }[];
  origins: { origin: string; localStorage: { name: string; value: string }[] }[];
}

/** Used for check's requests when no Chromium has ever run for the account (a recent stable). */
export const DEFAULT_CHROME_VERSION = '131.0.6778.204';

const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 1366, height: 768 },
  { width: 1440, height: 900 },
  { width: 1536, height: 864 },
  { width: 1920, height: 1080 },
];

/** Chrome's desktop Linux user agent for a version (reduced UA: minor parts are zeros). */
export function chromeUserAgent(version: string): string {
  const major = /^(\d+)/.exec(version)?.[1] ?? '131';
  return `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${major}.0.0.0 Safari/537.36`;
}

/** A device for an account: stable for a given seed (the account's id) and Chromium version. */
export function chooseDevice(seed: number, chromeVersion: string, timezoneId?: string): DeviceIdentity {
  const h = Math.abs(Math.imul(seed + 1, 2654435761)) >>> 0;
  return {
    userAgent: chromeUserAgent(chromeVersion),
    viewport: VIEWPORTS[h % VIEWPORTS.length]!,
    locale: 'en-US',
    timezoneId: timezoneId ?? (Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'),
  };
}

export function parseDevice(json: string | null): DeviceIdentity | null {
  if (!json) return null;
  try {
    const d = JSON.parse(json) as Partial<DeviceIdentity>;
    return typeof d.userAgent === 'string' &&
      d.viewport &&
      typeof d.locale === 'string' &&
      typeof d.timezoneId === 'string'
      ? (d as DeviceIdentity)
      : null;
  } catch {
    return null;
  }
}
