import type { Ctx } from './support/context.js';
import { secretBox, withStore } from './support/context.js';
import { newWebhookSecret } from '../domain/webhooks.js';
import { UsageError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import { notify, type NotifyResult } from '../fleet/notify.js';

export function renderNotify(r: NotifyResult): string {
  const lines = [
    `alerts raised: ${r.alertsRaised}; queued for delivery: ${r.enqueued}; delivered: ${r.delivered}; failed: ${r.failed}`,
  ];
  if (r.sinks.length === 0) {
    lines.push(
      'no sink configured (ACCTCTL_NOTIFY_WEBHOOK, ACCTCTL_NOTIFY_TELEGRAM_*, ACCTCTL_NOTIFY_SMTP_URL, or a tenant notify target)',
    );
  }
  for (const s of r.sinks) {
    lines.push(
      `  ${s.label}: ${s.delivered} delivered` +
        (s.failed ? `, ${s.failed} failed (${s.error ?? 'error'}) — retried on a later run` : ''),
    );
  }
  if (r.budgetSpent) lines.push('time budget spent: the rest is delivered by the next run');
  return lines.join('\n');
}

/** Tenants' targets and secrets are sealed; without a key the global sinks still get their alerts. */
function optionalBox(ctx: Ctx): SecretBox | undefined {
  try {
    return secretBox(ctx);
  } catch (e) {
    ctx.log.debug('no key loaded; tenant notify targets are skipped', {
      error: e instanceof Error ? e.message : String(e),
    });
    return undefined;
  }
}

/** `acctctl notify` (cron): deliver pending alerts to the configured sinks. */
export async function notifyCli(ctx: Ctx): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(
      await notify({ store, clock: ctx.clock, config: ctx.config.notify, log: ctx.log, box: optionalBox(ctx) }),
      renderNotify,
    ),
  );
}

/** `acctctl notify secret`: a new Standard Webhooks secret on stdout (for a file, an env setting). */
export function notifySecretCli(ctx: Ctx, what: string): Promise<void> {
  if (what !== 'secret') {
    throw new UsageError(
      `notify ${what}: unknown → \`acctctl notify\` delivers, \`acctctl notify secret\` prints a new secret`,
    );
  }
  ctx.emit({ secret: newWebhookSecret() }, (r) => r.secret);
  return Promise.resolve();
}

/**
 * The end of every batch command: the same delivery, but nothing it meets (a dead sink, even
 * an unreachable database) changes the batch's outcome or output.
 */
export async function notifyAfterBatch(ctx: Ctx): Promise<void> {
  try {
    await withStore(ctx, (store) =>
      notify({
        store,
        clock: ctx.clock,
        config: ctx.config.notify,
        log: ctx.log,
        box: optionalBox(ctx),
        budgetMs: 30_000,
      }),
    );
  } catch (e) {
    ctx.log.warn('alert delivery skipped after this batch; acctctl notify will retry', {
      error: e instanceof Error ? e.message : String(e),
    });
  }
}
