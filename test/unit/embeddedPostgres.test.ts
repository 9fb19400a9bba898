import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { chooseRunAs, startEmbeddedPostgres } from '../support/embeddedPostgres.js';

describe('embedded PostgreSQL for tests', () => {
  it('runs as the current user when that is not root', () => {
    expect(chooseRunAs(1000, () => ({ uid: 101, gid: 104 }))).toEqual({ ok: true });
  });

  it('as root, runs as the existing postgres user', () => {
    const seen: string[] = [];
    const r = chooseRunAs(0, (name) => (seen.push(name), { uid: 101, gid: 104 }));
    expect(r).toEqual({ ok: true, uid: 101, gid: 104, name: 'postgres' });
    expect(seen).toEqual(['postgres']);
  });

  it('as root without an unprivileged postgres user, gives the reason instead of starting', () => {
    for (const lookup of [() => undefined, () => ({ uid: 0, gid: 0 })]) {
      const r = chooseRunAs(0, lookup);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.reason).toMatch(/running as root.*no unprivileged `postgres` user/);
    }
  });

  it('starts a server that accepts connections, and stop() shuts it down and deletes its files', async (ctx) => {
    const r = await startEmbeddedPostgres();
    if (!r.ok) return ctx.skip(`embedded PostgreSQL cannot start here: ${r.reason}`);
    const dir = /data in (\S+)/.exec(r.pg.description)?.[1];
    expect(dir && existsSync(dir)).toBe(true);
    try {
      const c = new pg.Client({ connectionString: r.pg.url });
      await c.connect();
      expect((await c.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]?.v).toMatch(
        /^15\./,
      );
      await c.end();
    } finally {
      await r.pg.stop();
    }
    expect(existsSync(dir!)).toBe(false);
    const after = new pg.Client({ connectionString: r.pg.url, connectionTimeoutMillis: 3000 });
    await expect(after.connect()).rejects.toThrow();
  });
});
