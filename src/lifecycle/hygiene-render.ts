// RFC 4180 — CSV; and a self-contained HTML page of the hygiene report
import { HYGIENE_COUNTS, type HygieneCount, type HygieneReport } from './hygiene.ts';

export const HYGIENE_FORMATS = ['json', 'csv', 'html'] as const;
export type HygieneFormat = (typeof HYGIENE_FORMATS)[number];

const TITLES: Record<HygieneCount, string> = {
  agents: 'Live agents',
  without_owner: 'Agents without an owner',
  orphaned: 'Orphaned agents (owner unknown to Mandate)',
  stale: 'Stale agents (no activity)',
  over_privileged: 'Over-privileged agents (granted, unused)',
  old_secrets: 'Secrets past their age',
  old_signing_keys: 'Signing keys past their age',
  open_findings: 'Open discovery findings',
  overdue_reviews: 'Overdue access reviews',
};

/** One row per problem: what it is, who it is about, the detail, and the date that makes it one. */
export function hygieneRows(r: HygieneReport): Array<{ category: HygieneCount; subject: string; owner: string; detail: string; date: string }> {
  return [
    ...r.without_owner.map((a) => ({ category: 'without_owner' as const, subject: a.agent, owner: '', detail: `${a.environment}, ${a.status}`, date: '' })),
    ...r.orphaned.map((a) => ({ category: 'orphaned' as const, subject: a.agent, owner: a.owner, detail: a.environment, date: '' })),
    ...r.stale.map((a) => ({ category: 'stale' as const, subject: a.agent, owner: a.owner ?? '', detail: a.last_activity ? 'last activity' : 'never active', date: a.last_activity ?? a.created_at })),
    ...r.over_privileged.map((a) => ({ category: 'over_privileged' as const, subject: a.agent, owner: a.owner ?? '', detail: `${a.unused.length} of ${a.granted} unused: ${a.unused.join(' ')}`, date: '' })),
    ...r.old_secrets.map((s) => ({ category: 'old_secrets' as const, subject: s.name, owner: '', detail: `${s.age_days} days since set`, date: s.updated_at })),
    ...r.old_signing_keys.map((k) => ({ category: 'old_signing_keys' as const, subject: k.kid, owner: '', detail: `${k.age_days} days old`, date: k.created_at })),
    ...r.open_findings.map((f) => ({ category: 'open_findings' as const, subject: f.id, owner: '', detail: `${f.severity} ${f.scanner}: ${f.title}`, date: f.last_seen })),
    ...r.overdue_reviews.map((i) => ({ category: 'overdue_reviews' as const, subject: i.agent, owner: i.owner ?? '', detail: `campaign ${i.campaign}`, date: '' })),
  ];
}

/** A field as RFC 4180 wants it; a leading = + - @ is prefixed so a spreadsheet never runs it as a formula. */
const csvField = (value: string | number) => {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
};

export function hygieneCsv(r: HygieneReport): string {
  const lines = [['category', 'subject', 'owner', 'detail', 'date']];
  for (const key of HYGIENE_COUNTS) lines.push(['count', key, '', `${r.counts[key]}${r.trend.delta[key] === undefined ? '' : ` (${signed(r.trend.delta[key]!)} since ${r.trend.previous_at})`}`, r.generated_at]);
  for (const row of hygieneRows(r)) lines.push([row.category, row.subject, row.owner, row.detail, row.date]);
  return `${lines.map((l) => l.map(csvField).join(',')).join('\r\n')}\r\n`;
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function hygieneHtml(r: HygieneReport): string {
  const rows = hygieneRows(r);
  const summary = HYGIENE_COUNTS.map((key) => {
    const delta = r.trend.delta[key];
    const bad = key !== 'agents' && r.counts[key] > 0;
    const trend = delta === undefined ? '<span class="muted">–</span>' : delta === 0 ? '<span class="muted">±0</span>' : `<span class="${key === 'agents' ? 'muted' : delta > 0 ? 'worse' : 'better'}">${delta > 0 ? '▲' : '▼'} ${signed(delta)}</span>`;
    return `<tr><th scope="row">${escape(TITLES[key])}</th><td class="num${bad ? ' bad' : ''}">${r.counts[key]}</td><td class="num">${trend}</td></tr>`;
  }).join('\n');
  const sections = HYGIENE_COUNTS.slice(1).map((key) => {
    const items = rows.filter((row) => row.category === key);
    const body = items.length === 0
      ? '<p class="ok">None.</p>'
      : `<table><thead><tr><th scope="col">Subject</th><th scope="col">Owner</th><th scope="col">Detail</th><th scope="col">Date</th></tr></thead><tbody>${items.map((i) => `<tr><td><code>${escape(i.subject)}</code></td><td>${escape(i.owner) || '<span class="muted">–</span>'}</td><td>${escape(i.detail)}</td><td>${escape(i.date.slice(0, 10))}</td></tr>`).join('')}</tbody></table>`;
    return `<section><h2>${escape(TITLES[key])} <span class="count">${items.length}</span></h2>${body}</section>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Mandate hygiene report ${escape(r.generated_at.slice(0, 10))}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1f24;margin:2rem auto;max-width:60rem;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.75rem 0 .5rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
.meta,.muted{color:#57606a}.count{background:#eaeef2;border-radius:1rem;padding:0 .5rem;font-size:.85rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #eaeef2;vertical-align:top}
thead th{background:#f6f8fa}.num{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b3261e;font-weight:600}
.worse{color:#b3261e}.better{color:#1a7f37}.ok{color:#1a7f37}code{font-size:.9em}table.summary{max-width:36rem}
</style></head><body>
<h1>Mandate hygiene report</h1>
<p class="meta">Generated ${escape(r.generated_at)} · stale after ${r.settings.stale_days} days without activity · keys and secrets old after ${r.settings.max_key_age_days} days · trend since ${escape(r.trend.previous_at ?? 'no earlier report')}</p>
<table class="summary"><thead><tr><th scope="col">Check</th><th scope="col" class="num">Now</th><th scope="col" class="num">Trend</th></tr></thead><tbody>
${summary}
</tbody></table>
${sections}
</body></html>
`;
}
