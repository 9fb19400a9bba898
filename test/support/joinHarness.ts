import { randomBytes } from 'node:crypto';
import { join as joinPath } from 'node:path';
import { join, type JoinOptions, type JoinSummary } from '../../src/fleet/join.js';
import { importTargets, parseTargetsFile } from '../../src/fleet/targets.js';
import { FakeClock } from '../../src/domain/clock.js';
import type { TargetRef } from '../../src/domain/links.js';
import { silentLogger } from '../../src/log/logger.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import type { Store } from '../../src/store/store.js';
import type { TelegramCallError } from '../../src/telegram/gateway.js';
import {
  type AccountSession,
  type JoinRequestState,
  type JoinResult,
  type TelegramGateway,
} from '../../src/telegram/gateway.js';

export function boxFor(env: Record<string, string>): SecretBox {
  return new SecretBox(loadKeyRing({ keyFile: env.ACCTCTL_KEY_FILE!, secretKeyEnv: undefined }));
}

export async function addTargets(store: Store, lines: string[], niche = 'n', clock = new FakeClock()): Promise<void> {
  await importTargets({ store, clock }, parseTargetsFile('t', lines.join('\n')), niche);
}

/** A scripted Telegram: `rule(account, target)` returns a result or throws; every call is recorded. */
export class ScriptedTelegram implements TelegramGateway {
  calls: { account: string; target: string }[] = [];
  connects: string[] = [];
  constructor(
    private readonly rule: (account: string, target: string) => JoinResult | TelegramCallError | Error,
    private readonly connectRule: (account: string) => TelegramCallError | Error | null = () => null,
    private readonly checkRule: (account: string, target: string) => JoinRequestState | Error = () => 'pending',
  ) {}
  checks: { account: string; target: string }[] = [];
  async client(s: AccountSession) {
    const bad = this.connectRule(s.sessionName);
    if (bad) throw bad;
    this.connects.push(s.sessionName);
    return {
      join: async (t: TargetRef) => {
        const target = t.kind === 'username' ? `@${t.username}` : `+${t.hash}`;
        this.calls.push({ account: s.sessionName, target });
        const r = this.rule(s.sessionName, target);
        if (r instanceof Error) throw r;
        return r;
      },
      getMe: async () => ({ id: '1', username: s.sessionName, phone: null }),
      askSpamBot: async () => 'ok',
      checkJoin: async (t: TargetRef) => {
        const target = t.kind === 'username' ? `@${t.username}` : `+${t.hash}`;
        this.checks.push({ account: s.sessionName, target });
        const r = this.checkRule(s.sessionName, target);
        if (r instanceof Error) throw r;
        return r;
      },
      countChannels: async () => 0,
    };
  }
  async closeAll() {}
}

export async function runJoin(
  store: Store,
  clock: FakeClock,
  gateway: TelegramGateway,
  box: SecretBox,
  opts: Partial<JoinOptions> = {},
): Promise<JoinSummary> {
  return join(
    { store, clock, gateway, box, log: silentLogger, sleep: async (ms) => clock.advance(ms) },
    { niche: 'n', batch: 10, dryRun: false, maxWaitMs: 0, timeZone: 'UTC', ...opts },
  );
}

export function tmpSandboxPath(dir: string): string {
  return joinPath(dir, `sandbox-${randomBytes(4).toString('hex')}.db`);
}
