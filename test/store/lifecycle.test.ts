import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { DataError, LeaseLostError } from '../../src/errors.js';
import { AccountManager, type Lease } from '../../src/fleet/accountManager.js';
import { changeAccount, importAccounts, parseAccountsFile } from '../../src/fleet/accounts.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import { insertEvent, listEvents } from '../../src/store/events.js';
import { importIgAccounts, removeIg, updateIgAccount } from '../../src/store/igAccounts.js';
import { ensureTenant, removeTenant } from '../../src/store/tenants.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { makeAccounts } from '../support/fixtures.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-23T09:00:00Z');

describe.each(DIALECTS)('removal is a lifecycle step on $name', (dialect) => {
  const { skip } = dialect;
  const f = useFleetStore(dialect, 2);
  const box = () => new SecretBox(loadKeyRing({ keyFile: f.env.ACCTCTL_KEY_FILE!, secretKeyEnv: undefined }));

  const leaseOne = async (fleet: AccountManager, action: 'join' | 'invite' | 'message' = 'invite'): Promise<Lease> => {
    const r = await fleet.lease({ action, holder: 'old-holder', ttlMs: 10 * MIN });
    if (!r.ok) throw new Error(r.reason);
    return r.lease;
  };
  const bindTarget = async (ref: string, account: string, status: 'joined' | 'pending_approval') => {
    const acc = await f.store.db
      .selectFrom('telegram_accounts')
      .select('id')
      .where('session_name', '=', account)
      .executeTakeFirstOrThrow();
    await f.store.db
      .insertInto('targets')
      .values({
        ref,
        kind: 'username',
        value: ref.slice(1),
        status,
        account_id: acc.id,
        joined_at: T0,
        warmup_ends_at: null,
        next_attempt_at: null,
        error_message: null,
        lease_holder: null,
        lease_token: null,
        lease_expires_at: null,
        requested_at: null,
        created_at: T0,
        updated_at: T0,
      })
      .execute();
  };

  it.skipIf(skip)(
    'accounts remove refuses a leased, bound account naming what uses it; --force ends the lease for good and requeues its groups',
    async () => {
      const clock = new FakeClock(T0);
      const fleet = new AccountManager({ store: f.store, clock });
      const old = await leaseOne(fleet);
      await bindTarget('@joined_group', old.account, 'joined');
      await bindTarget('@asked_group', old.account, 'pending_approval');

      const refused = changeAccount({ store: f.store, clock }, 'remove', old.account);
      await expect(refused).rejects.toBeInstanceOf(DataError);
      await expect(refused).rejects.toThrow(
        /in use: leased by old-holder for invite until .*; bound to 2 groups: @asked_group \(pending_approval\), @joined_group \(joined\); nothing was removed/,
      );
      expect(
        await f.store.db.selectFrom('telegram_accounts').select('id').where('id', '=', old.accountId).execute(),
      ).toHaveLength(1);

      const r = await changeAccount({ store: f.store, clock }, 'remove', old.account, { force: true });
      expect(r.removal).toMatchObject({
        leaseEnded: { holder: 'old-holder', action: 'invite' },
        targetsRequeued: ['@asked_group', '@joined_group'],
      });
      // Its groups are anyone's again, queued for the next join.
      const targets = await f.store.db.selectFrom('targets').select(['ref', 'status', 'account_id']).execute();
      expect(targets.sort((a, b) => a.ref.localeCompare(b.ref))).toEqual([
        { ref: '@asked_group', status: 'new', account_id: null },
        { ref: '@joined_group', status: 'new', account_id: null },
      ]);

      // The next imported account (and the same name imported again) never gets the removed id.
      await importAccounts(
        { store: f.store, box: box(), clock },
        parseAccountsFile('again', JSON.stringify(makeAccounts(3, { tenant: 'acme' }))),
      );
      const ids = await f.store.db.selectFrom('telegram_accounts').select(['id', 'session_name']).execute();
      expect(ids.map((a) => a.id)).not.toContain(old.accountId);
      // Every other account is leased by someone else now; the old holder's late release and
      // report fail and book nothing anywhere.
      const others: Lease[] = [];
      for (let i = 0; i < 3; i++) others.push(await leaseOne(fleet));
      await expect(fleet.release(old.token, { used: { invite: 25 } })).rejects.toBeInstanceOf(LeaseLostError);
      await expect(fleet.reportError(old.token, 'PEER_FLOOD')).rejects.toBeInstanceOf(LeaseLostError);
      expect(await f.store.db.selectFrom('action_log').selectAll().execute()).toEqual([]);
      const held = await f.store.db
        .selectFrom('telegram_accounts')
        .select(['lease_holder', 'state', 'error_count'])
        .execute();
      expect(held.every((a) => a.lease_holder === 'old-holder' && a.state === 'active' && a.error_count === 0)).toBe(
        true,
      );
      for (const o of others) await fleet.release(o.token);

      // Its history stays readable under its name and tenant.
      const ev = await listEvents(f.store, { account: old.account, limit: 10 });
      const removed = ev.find((e) => e.kind === 'account_removed' && e.subject.name === old.account);
      expect(removed).toMatchObject({ tenant: 'acme', subject: { type: 'telegram_account', name: old.account } });
      expect(removed!.message).toMatch(
        /ending its lease \(old-holder\) and its binding to @asked_group, @joined_group/,
      );
    },
  );

  it.skipIf(skip)('an idle account is removed without --force', async () => {
    const clock = new FakeClock(T0);
    await changeAccount({ store: f.store, clock }, 'remove', 'acc_00001');
    expect(
      (await f.store.db.selectFrom('telegram_accounts').select('session_name').execute()).map((a) => a.session_name),
    ).toEqual(['acc_00000']);
  });

  it.skipIf(skip)('a new tenant never inherits a removed tenant’s events', async () => {
    const oldId = await f.store.writeTx(async (tx) => (await ensureTenant(tx, 'gone', T0)).id);
    await f.store.writeTx((tx) =>
      insertEvent(tx, {
        at: T0,
        kind: 'account_state',
        subject_type: 'tenant',
        subject_id: oldId,
        tenant_id: oldId,
        message: 'gone: an alert of the removed tenant',
        data_json: null,
      }),
    );
    await removeTenant(f.store, 'gone', { force: false, now: T0 + 1 });
    const newId = await f.store.writeTx(async (tx) => (await ensureTenant(tx, 'newcomer', T0 + 2)).id);
    expect(newId).not.toBe(oldId);
    expect(await listEvents(f.store, { tenant: 'newcomer', limit: 100 })).toEqual([]);
    // The removed tenant's history is still there, under its name.
    const old = await listEvents(f.store, { tenant: 'gone', limit: 100 });
    expect(old.map((e) => e.kind).sort()).toEqual(['account_state', 'tenant_removed']);
  });

  it.skipIf(skip)(
    'an Instagram account force-removed during a login: the finishing login’s session lands on no other account',
    async () => {
      const ig = (tenant: string, username: string) => ({
        tenant,
        username,
        password: 'pw',
        totpSecret: null,
        sessionid: null,
        proxy: null,
        priority: 0,
      });
      await importIgAccounts(f.store, box(), [ig('acme', 'first'), ig('acme', 'removed_one')], {
        createTenants: true,
        now: T0,
        sessionRefreshAt: T0,
      });
      const gone = await f.store.db
        .selectFrom('ig_accounts')
        .select('id')
        .where('username', '=', 'removed_one')
        .executeTakeFirstOrThrow();
      // A login holds the account's lock…
      await f.store.db
        .insertInto('locks')
        .values({ name: `ig-refresh:${gone.id}`, holder: 'login', token: 1, expires_at: T0 + 10 * MIN })
        .execute();
      await expect(removeIg(f.store, { username: 'removed_one' }, { force: false, now: T0 })).rejects.toThrow(
        /in use: a login is running for it \(login\)/,
      );
      await removeIg(f.store, { username: 'removed_one' }, { force: true, now: T0 });
      // …another tenant imports an account…
      await importIgAccounts(f.store, box(), [ig('other', 'someone_else')], {
        createTenants: true,
        now: T0,
        sessionRefreshAt: T0,
      });
      // …and the login finishes, storing its session by the id it started with.
      await updateIgAccount(f.store, gone.id, { state: 'valid', sessionid_enc: 'sealed-session', updated_at: T0 });
      const rows = await f.store.db
        .selectFrom('ig_accounts')
        .select(['id', 'username', 'state', 'sessionid_enc'])
        .execute();
      expect(rows.map((r) => r.id)).not.toContain(gone.id);
      expect(rows.filter((r) => r.state === 'valid' || r.sessionid_enc !== null)).toEqual([]);
    },
  );
});
