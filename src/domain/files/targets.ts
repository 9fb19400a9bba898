import * as v from 'valibot';
import { parseTargetLink, targetKey, type TargetRef } from '../links.js';
import type { ParseResult } from '../result.js';
import { parseWith } from './schema.js';

/**
 * The targets file (`targets import FILE`): one Telegram group link per line (`@name`,
 * `t.me/name`, `t.me/+HASH`, `t.me/joinchat/HASH`, …); blank lines and `#` comments skipped;
 * the same group twice counts once. Any line that is not a link rejects the whole file.
 */
export const TARGET_LINK = v.pipe(
  v.string('must be a Telegram group link'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const r = parseTargetLink(dataset.value);
    if (r.ok) return r.value;
    addIssue({ message: r.problems.join('; ') });
    return NEVER;
  }),
);

export function parseTargets(text: string): ParseResult<TargetRef[]> {
  const problems: string[] = [];
  const out = new Map<string, TargetRef>();
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.replace(/(^|\s)#.*$/, '').trim();
    if (!l) return;
    const r = parseWith(TARGET_LINK, l, `line ${i + 1}`);
    if (!r.ok) problems.push(...r.problems);
    else if (!out.has(targetKey(r.value))) out.set(targetKey(r.value), r.value);
  });
  if (problems.length === 0 && out.size === 0) problems.push('(file): no links found');
  return problems.length ? { ok: false, problems } : { ok: true, value: [...out.values()] };
}
