import { sql } from 'kysely';
import type { Ctx } from './support/context.js';
import { withStore } from './support/context.js';
import { emitListing, listSpec, pages, type Column, type ListFlags } from './support/listing.js';
import { fmtTime } from './support/output.js';
import type { Clock } from '../domain/clock.js';
import { parseTargetLink, targetKey, type TargetRef } from '../domain/links.js';
import { UsageError } from '../errors.js';
import {
  checkTargetFilter,
  countTargets,
  targetsPage,
  type TargetFilter,
  type TargetListRow,
} from '../store/targets.js';
import type { Store } from '../store/store.js';
import type { TargetStatus } from '../store/schema.js';
import { readInputFile, rejectProblems } from './importing.js';
import { removeTargets } from '../store/targets.js';
import { count } from '../domain/plural.js';

const NICHE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** One link per line; blank lines and `#` comments skipped; any unknown form rejects the file. */
export function parseTargetsFile(path: string, text: string): TargetRef[] {
  const problems: string[] = [];
  const out: TargetRef[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.replace(/(^|\s)#.*$/, '').trim();
    if (!l) return;
    const r = parseTargetLink(l);
    if (!r.ok) problems.push(`line ${i + 1}: ${r.problems.join('; ')}`);
    else if (!seen.has(targetKey(r.value))) {
      seen.add(targetKey(r.value));
      out.push(r.value);
    }
  });
  if (problems.length === 0 && out.length === 0) problems.push('(file): no links found');
  if (problems.length) rejectProblems(path, problems);
  return out;
}

export interface ImportTargetsResult {
  niche: string;
  added: number;
  alreadyKnown: number;
}

export async function importTargets(
  deps: { store: Store; clock: Clock },
  refs: TargetRef[],
  niche: string,
): Promise<ImportTargetsResult> {
  if (!NICHE_RE.test(niche))
    throw new UsageError(`--niche "${niche}" is not allowed → letters, digits, _ . - (up to 64)`);
  const now = deps.clock.now();
  return deps.store.writeTx(async (tx) => {
    let added = 0;
    for (const ref of refs) {
      const r = await tx
        .insertInto('targets')
        .values({
          ref: targetKey(ref),
          kind: ref.kind,
          value: ref.kind === 'username' ? ref.username : ref.hash,
          niche,
          account_id: null,
          joined_at: null,
          warmup_ends_at: null,
          next_attempt_at: null,
          error_message: null,
          lease_holder: null,
          lease_token: null,
          lease_expires_at: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('ref').doNothing())
        .executeTakeFirst();
      added += Number(r.numInsertedOrUpdatedRows ?? 0n);
    }
    return { niche, added, alreadyKnown: refs.length - added };
  });
}

export type TargetRow = Omit<TargetListRow, 'id'>;

/** Every matching target (import order). Listings page through `targetsPage` instead. */
export async function listTargets(store: Store, filter: TargetFilter): Promise<TargetRow[]> {
  const out: TargetRow[] = [];
  for await (const page of pages<TargetListRow>((last, n) => targetsPage(store, filter, last?.id ?? null, n), null))
    for (const { id: _id, ...r } of page) out.push(r);
  return out;
}

export async function targetCounts(store: Store): Promise<{ niche: string; status: string; count: number }[]> {
  const rows = await store.db
    .selectFrom('targets')
    .select(['niche', 'status', sql<number>`count(*)`.as('n')])
    .groupBy(['niche', 'status'])
    .orderBy('niche')
    .orderBy('status')
    .execute();
  return rows.map((r) => ({ niche: r.niche, status: r.status, count: Number(r.n) }));
}

export async function importTargetsCli(ctx: Ctx, file: string, opts: { niche: string }): Promise<void> {
  const refs = parseTargetsFile(file, readInputFile(file));
  await withStore(ctx, async (store) =>
    ctx.emit(
      await importTargets({ store, clock: ctx.clock }, refs, opts.niche),
      (r) => `niche ${r.niche}: ${count(r.added, 'target')} added, ${r.alreadyKnown} already known`,
    ),
  );
}

const targetColumns: Column<TargetListRow>[] = [
  { head: 'target', value: (r) => r.ref },
  { head: 'niche', value: (r) => r.niche },
  { head: 'status', value: (r) => r.status },
  { head: 'account', value: (r) => r.account },
  { head: 'joined', value: (r) => fmtTime(r.joinedAt) },
  { head: 'warm-up ends', value: (r) => fmtTime(r.warmupEndsAt) },
  { head: 'attempts', value: (r) => r.attempts },
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
  await withStore(ctx, async (store) => {
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
  const { retryTargets, RETRYABLE } = await import('../fleet/targets.js');
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
          `requeued ${r.requeued.length} target(s)${r.requeued.length ? `: ${r.requeued.slice(0, 20).join(', ')}${r.requeued.length > 20 ? ', …' : ''}` : ''}`,
          ...(r.recheck.length ? [`join requests re-checked by the next join run: ${r.recheck.join(', ')}`] : []),
          ...r.skipped.map((x) => `left as is: ${x.target} (${x.status}: ${x.why})`),
        ].join('\n'),
    ),
  );
}

export async function removeTargetsCli(ctx: Ctx, links: string[], opts: { force?: boolean }): Promise<void> {
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
  await withStore(ctx, async (store) =>
    ctx.emit(
      await removeTargets(store, [...new Set(keys)], { force: opts.force === true, now: ctx.clock.now() }),
      (r) => `removed ${count(r.removed.length, 'target')} (${r.removed.join(', ')})`,
    ),
  );
}
