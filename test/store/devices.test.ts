import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { chooseDevice, DEVICE_TABLE } from '../../src/domain/device.js';
import { importAccounts, listAccounts, parseAccountsFile } from '../../src/fleet/accounts.js';
import { loadSession } from '../../src/fleet/sessions.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import { GramjsGateway } from '../../src/telegram/gramjs.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { makeAccounts } from '../support/fixtures.js';
import { script } from '../support/gramFixtures.js';

const PIXEL = {
  model: 'Google Pixel 8',
  systemVersion: 'SDK 34',
  appVersion: '10.14.5 (47741)',
  langCode: 'de',
  systemLangCode: 'de-DE',
};

describe.each(DIALECTS)('one device per Telegram account on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);
  const clock = new FakeClock(Date.parse('2026-12-01T10:00:00Z'));
  const box = () => new SecretBox(loadKeyRing({ keyFile: f.env.ACCTCTL_KEY_FILE!, secretKeyEnv: undefined }));

  it.skipIf(dialect.skip)(
    "each account's device reaches its initConnection through a real TelegramClient; kept across re-imports",
    async () => {
      const [a, b, c] = makeAccounts(3);
      const rows = [
        { ...a!, session_name: 'dev_given', device: PIXEL },
        { ...b!, session_name: 'dev_chosen' },
        { ...c!, session_name: 'dev_other' },
      ];
      const deps = { store: f.store, box: box(), clock };
      await importAccounts(deps, parseAccountsFile('a.json', JSON.stringify(rows)));
      const listed = Object.fromEntries((await listAccounts(f.store)).map((r) => [r.name, r.device]));
      expect(listed.dev_given).toEqual(PIXEL);
      expect(listed.dev_chosen).toEqual(chooseDevice('dev_chosen'));
      expect(DEVICE_TABLE).toContainEqual(listed.dev_chosen);

      // Re-importing without a device keeps each one; a file that names one changes it.
      const again = [{ ...rows[0]!, device: undefined }, rows[1]!, { ...rows[2]!, device: { model: 'iPhone 15' } }];
      await importAccounts(deps, parseAccountsFile('a.json', JSON.stringify(again)));
      const relisted = Object.fromEntries((await listAccounts(f.store)).map((r) => [r.name, r.device]));
      expect(relisted.dev_given).toEqual(PIXEL);
      expect(relisted.dev_chosen).toEqual(listed.dev_chosen);
      expect(relisted.dev_other).toMatchObject({
        model: 'iPhone 15',
        systemVersion: expect.stringMatching(/^1[67]\./),
      });

      // Every connect sends the stored device (a real TelegramClient, only the wire is fake).
      const ids = await f.store.db.selectFrom('telegram_accounts').select(['id', 'session_name']).execute();
      const s = script({});
      const gw = new GramjsGateway({ fakeNetwork: s.handler });
      try {
        for (const { id } of ids) await gw.client(await loadSession(f.store, deps.box, id));
      } finally {
        await gw.closeAll();
      }
      const sent = s.inits.map((i) => ({
        className: i.className,
        model: i.deviceModel,
        systemVersion: i.systemVersion,
        appVersion: i.appVersion,
        langCode: i.langCode,
        systemLangCode: i.systemLangCode,
      }));
      const byName = (n: string) => relisted[n]!;
      expect(sent).toEqual(ids.map(({ session_name }) => ({ className: 'InitConnection', ...byName(session_name) })));
      expect(new Set(sent.map((x) => JSON.stringify(x))).size).toBe(3);
    },
  );

  it.skipIf(dialect.skip)(
    'an account stored before devices were kept gets one at its first connect, then keeps it',
    async () => {
      const deps = { store: f.store, box: box(), clock };
      await importAccounts(deps, parseAccountsFile('a.json', JSON.stringify(makeAccounts(1))));
      await f.store.db.updateTable('telegram_accounts').set({ device_json: null }).execute();
      const { id } = await f.store.db.selectFrom('telegram_accounts').select('id').executeTakeFirstOrThrow();
      expect((await listAccounts(f.store))[0]!.device).toBeNull();
      const first = await loadSession(f.store, deps.box, id);
      expect(first.device).toEqual(chooseDevice('acc_00000'));
      expect((await listAccounts(f.store))[0]!.device).toEqual(first.device);
    },
  );
});

describe('the device table', () => {
  it('spreads accounts over real desktop and mobile clients, the same name always the same device', () => {
    const picks = Array.from({ length: 300 }, (_, i) => chooseDevice(`acc_${i}`));
    expect(new Set(picks.map((p) => p.model)).size).toBeGreaterThan(8);
    expect(chooseDevice('acc_7')).toEqual(chooseDevice('acc_7'));
    for (const d of DEVICE_TABLE) {
      expect(d.model && d.systemVersion && d.appVersion && d.langCode && d.systemLangCode).toBeTruthy();
    }
  });
});
