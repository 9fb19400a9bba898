export const VERIFY_MODES = [
  'api',
  'instagram',
  'proxy',
  'api+instagram',
  'api+proxy',
  'instagram+proxy',
  'api+proxy+instagram',
] as const;
export type VerifyMode = (typeof VERIFY_MODES)[number];

export function isVerifyMode(s: string): s is VerifyMode {
  return (VERIFY_MODES as readonly string[]).includes(s);
}

/** Tenant names appear in crontabs and flags: keep them simple. */
export function validTenantName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name);
}

/**
 * The verify mode of a tenant created without one: the API first, then an Instagram session —
 * the order the original Python auto-checker used.
 */
export const DEFAULT_VERIFY_MODE: VerifyMode = 'api+instagram';
