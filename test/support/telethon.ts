import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '../fixtures/telethon/session.py');

/** A Python that has Telethon (Debian's python3-telethon lives under /usr/bin/python3), or null. */
export const TELETHON_PYTHON: string | null = (() => {
  for (const py of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(py, ['-c', 'import telethon'], { stdio: 'ignore' });
      return py;
    } catch {
      // next
    }
  }
  return null;
})();

export const NO_TELETHON =
  'python3-telethon is not installed (apt-get install -y python3-telethon): the real-Telethon round trips are skipped';

function py(args: string[]): string {
  if (!TELETHON_PYTHON) throw new Error(NO_TELETHON);
  return execFileSync(TELETHON_PYTHON, [SCRIPT, ...args], { encoding: 'utf8' });
}

/** A .session file written by real Telethon (SQLiteSession.set_dc, auth_key, save), no network. */
export function telethonWrite(path: string, s: { dcId: number; ip: string; port: number; authKey: Buffer }): void {
  py(['write', path, String(s.dcId), s.ip, String(s.port), s.authKey.toString('hex')]);
}

export interface TelethonView {
  dc_id: number;
  server_address: string;
  port: number;
  auth_key: string | null;
}

/** What real Telethon reads from a .session file. */
export function telethonRead(path: string): TelethonView {
  return JSON.parse(py(['read', path])) as TelethonView;
}

/** What real Telethon reads from a string session. */
export function telethonReadString(s: string): TelethonView {
  return JSON.parse(py(['string', s])) as TelethonView;
}
