import type { Ctx } from './support/context.js';
import { withExistingStore, withStore } from './support/context.js';
import { emitListing, listSpec, pages, type Column, type ListFlags } from './support/listing.js';
import { EXTRA, fmtTime, KEY } from './support/output.js';
import { UsageError } from '../errors.js';
import { importTargets, parseTargetsFile, RETRYABLE, retryTargets } from '../fleet/targets.js';
import { parseTargetLink, targetKey } from '../domain/links.js';
import { checkTargetFilter, countTargets, targetsPage, type TargetListRow } from '../store/targets.js';
import type { TargetStatus } from '../store/schema.js';
import { readInputFile } from '../config/inputFiles.js';
import { removeTargets } from '../store/targets.js';
import { count } from '../domain/plural.js';
import { importSummary, withImportStore, withRemovalStore } from './support/imported.js';
import { tenantScope } from '../fleet/tenants.js';
import { checkNicheFilter } from '../store/filters.js';

export async function importTargetsCli(
  ctx: Ctx,
  file: string,
  opts: { niche: string; tenant?: string | undefined; dryRun?: boolean },
): Promise<void> {
  const refs = parseTargetsFile(file, readInputFile(file));
  await withImportStore(ctx, opts.dryRun, async (store) => {
    const tenant = await tenantScope(store, { tenant: opts.tenant, command: 'targets import', anyAllowed: false });
    ctx.emit(
      await importTargets({ store, clock: ctx.clock }, refs, opts.niche, tenant),
      (r) =>
        importSummary(
          ['target'],
          { imported: r.added + r.alreadyKnown, created: r.added, existing: r.alreadyKnown },
          'unchanged',
          opts.dryRun === true,
        ) + ` into niche ${r.niche}${r.tenant ? ` of tenant ${r.tenant}` : ''}`,
    );
  });
}

const targetColumns: Column<TargetListRow>[] = [
  { head: 'target', value: (r) => r.ref, priority: KEY },
  { head: 'niche', value: (r) => r.niche },
  { head: 'status', value: (r) => r.status, priority: KEY },
  { head: 'account', value: (r) => r.account },
  { head: 'joined', value: (r) => fmtTime(r.joinedAt), priority: EXTRA },
  { head: 'warm-up ends', value: (r) => fmtTime(r.warmupEndsAt), priority: EXTRA },
  { head: 'attempts', value: (r) => r.attempts, priority: EXTRA },
  { head: 'next attempt', value: (r) => fmtTime(r.nextAttemptAt) },
  { head: 'error', value: (r) => r.error },
];

export async function listTargetsCli(
  ctx: Ctx,
  opts: ListFlags & { niche?: string | undefined; status?: string | undefined },
): Promise<void> {
  const spec = listSpec(opts, ctx.config.json);
  const filter = { niche: opts.niche, status: opts.status };
  checkTargetFilter(filter);
  await withExistingStore(ctx, async (store) => {
    await checkNicheFilter(store, filter.niche);
    await emitListing(ctx, spec, {
      columns: targetColumns,
      total: await countTargets(store, filter),
      rows: pages<TargetListRow>((last, n) => targetsPage(store, filter, last?.id ?? null, n), spec.limit),
      json: ({ id: _id, ...r }) => r,
      empty: filter.niche || filter.status ? 'no targets match' : 'no targets → acctctl targets import FILE --niche N',
      filters: '--niche, --status',
    });
  });
}

export async function retryTargetsCli(
  ctx: Ctx,
  links: string[],
  opts: { niche?: string; status?: string },
): Promise<void> {
  const allowed: readonly string[] = [...RETRYABLE, 'pending_approval'];
  if (opts.status !== undefined && !allowed.includes(opts.status)) {
    throw new UsageError(`--status "${opts.status}" cannot be retried → use one of ${allowed.join(', ')}`);
  }
  const refs: string[] = [];
  const problems: string[] = [];
  for (const l of links) {
    const r = parseTargetLink(l);
    if (r.ok) refs.push(targetKey(r.value));
    else problems.push(`${l}: ${r.problems.join('; ')}`);
  }
  if (problems.length) throw new UsageError('some links are not target links → fix them', { details: problems });
  await withStore(ctx, async (store) =>
    ctx.emit(
      await retryTargets(store, {
        niche: opts.niche,
        status: opts.status as TargetStatus | undefined,
        refs,
        now: ctx.clock.now(),
      }),
      (r) =>
        [
          `requeued ${count(r.requeued.length, 'target')}${r.requeued.length ? `: ${r.requeued.slice(0, 20).join(', ')}${r.requeued.length > 20 ? ', …' : ''}` : ''}`,
          ...(r.recheck.length ? [`join requests re-checked by the next join run: ${r.recheck.join(', ')}`] : []),
          ...r.skipped.map((x) => `left as is: ${x.target} (${x.status}: ${x.why})`),
        ].join('\n'),
    ),
  );
}

export async function removeTargetsCli(
  ctx: Ctx,
  links: string[],
  opts: { force?: boolean; dryRun?: boolean },
): Promise<void> {
  const keys: string[] = [];
  const problems: string[] = [];
  for (const l of links) {
    const r = parseTargetLink(l);
    if (r.ok) keys.push(targetKey(r.value));
    else problems.push(`${l}: ${r.problems.join('; ')}`);
  }
  if (problems.length) {
    throw new UsageError('not a Telegram group link → give links as `targets list` shows them (@name, t.me/+HASH…)', {
      details: problems,
    });
  }
  await withRemovalStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await removeTargets(store, [...new Set(keys)], { force: opts.force === true, now: ctx.clock.now() }),
      (r) => `removed ${count(r.removed.length, 'target')} (${r.removed.join(', ')})`,
    ),
  );
}
