/**
 * What the build baked in (build.mjs defines it for the CLI bundle): the git commit and the build
 * time. Code run from source (tests, tsc's dist/) has none and says so.
 */
declare const __ACCTCTL_BUILD__: { commit: string | null; date: string } | undefined;

export interface BuildInfo {
  /** Short git commit, with "-dirty" when the tree had changes; null when not built from git. */
  commit: string | null;
  /** ISO 8601 UTC, or null when not built (run from source). */
  date: string | null;
}

export function buildInfo(): BuildInfo {
  const baked = typeof __ACCTCTL_BUILD__ === 'undefined' ? undefined : __ACCTCTL_BUILD__;
  return { commit: baked?.commit ?? null, date: baked?.date ?? null };
}

/** `acctctl --version`: the version alone on the first line (for scripts), then where it came from. */
export function versionText(version: string, info: BuildInfo = buildInfo(), node = process.version): string {
  return [
    version,
    `commit ${info.commit ?? 'unknown (not built from a git checkout)'}`,
    `built  ${info.date ?? 'unknown (run from source, not built)'}`,
    `node   ${node}`,
  ].join('\n');
}
