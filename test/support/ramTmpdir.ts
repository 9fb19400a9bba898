import { accessSync, constants, statSync } from 'node:fs';

/**
 * Where the test run keeps its temporary files — test databases above all: ACCTCTL_TEST_TMPDIR
 * when set, else /dev/shm when it is a writable directory (a tmpfs on Linux), else undefined (the
 * system's TMPDIR). SQLite runs with synchronous=FULL, so each commit is an fsync: on a disk those
 * cost more than the tests themselves (the 1,000-page check figure: 77 s of test time in /tmp,
 * 47 s in /dev/shm, back to back on the loaded machine). The same fsync calls are still made.
 */
export function ramTmpdir(): string | undefined {
  if (process.env.ACCTCTL_TEST_TMPDIR) return process.env.ACCTCTL_TEST_TMPDIR;
  try {
    if (!statSync('/dev/shm').isDirectory()) return undefined;
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return undefined;
  }
}
