// Reporters. The default one prints failures with their Markdown place, then the claims matrix
// (each block's heading × runtime), then the line every caller greps: `N passed, N failed`.
import type { Column, Result } from './runner.ts';
import type { Installed, Missing } from './runtimes.ts';

export type ReporterName = 'pretty' | 'tap' | 'junit' | 'json';
export const REPORTERS: ReporterName[] = ['pretty', 'tap', 'junit', 'json'];

export interface Report {
  results: Result[];
  runtimes: (Installed | Missing)[];
  columns: Column[];
  color: boolean;
}

export function summary(results: Result[]): string {
  const n = (s: Result['status']) => results.filter((r) => r.status === s).length;
  const skipped = n('skipped');
  return `${n('passed')} passed, ${n('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`;
}

const paint = (on: boolean) => (code: number, s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);

export function pretty({ results, runtimes, columns, color }: Report): string {
  const c = paint(color);
  const out: string[] = [];
  for (const r of results.filter((r) => r.status === 'failed')) {
    out.push(c(31, `✗ ${r.doc}:${r.line} [${r.column}] ${r.heading}`), `  ${r.message}`);
    for (const line of (r.details ?? '').split('\n').filter(Boolean)) {
      out.push('    ' + (line.startsWith('+ ') ? c(32, line) : line.startsWith('- ') ? c(31, line) : line));
    }
    out.push('');
  }
  // The matrix: one row per block, one column per runtime (and tsc).
  const rows = new Map<string, { label: string; cells: Map<Column, Result> }>();
  for (const r of results) {
    const key = `${r.doc}:${r.line}`;
    const row = rows.get(key) ?? { label: `${key} ${r.heading}`.slice(0, 72), cells: new Map() };
    row.cells.set(r.column, r);
    rows.set(key, row);
  }
  const width = Math.max(5, ...[...rows.values()].map((r) => r.label.length));
  const mark = { passed: c(32, 'pass'), failed: c(31, 'FAIL'), skipped: c(33, 'skip') };
  const pad = (s: string, n: number, shownLength = s.length) => s + ' '.repeat(Math.max(0, n - shownLength));
  out.push(pad('claim', width) + '  ' + columns.map((col) => pad(col, 7)).join(''));
  for (const row of rows.values()) {
    const cells = columns.map((col) => {
      const r = row.cells.get(col);
      return r ? pad(mark[r.status], 7, 4) : pad('-', 7);
    });
    out.push(pad(row.label, width) + '  ' + cells.join(''));
  }
  const missing = runtimes.filter((rt): rt is Missing => 'reason' in rt);
  for (const rt of missing) out.push(c(33, `${rt.name}: not run: ${rt.reason}`));
  const reasons = new Map<string, Map<string, string[]>>();
  for (const r of results) {
    if (r.status !== 'skipped' || missing.some((m) => m.name === r.column)) continue;
    const places = reasons.get(r.message ?? '') ?? new Map<string, string[]>();
    places.set(`${r.doc}:${r.line}`, [...(places.get(`${r.doc}:${r.line}`) ?? []), r.column]);
    reasons.set(r.message ?? '', places);
  }
  for (const [why, places] of reasons) {
    const where = [...places].map(([at, cols]) => `${at} (${cols.join(', ')})`);
    out.push(c(33, `skipped, ${why}: ${where.join('; ')}`));
  }
  const installed = runtimes.filter((rt): rt is Installed => 'bin' in rt).map((rt) => `${rt.name} ${rt.version}`);
  if (installed.length) out.push(`runtimes: ${installed.join(', ')}`);
  return out.join('\n');
}

export function tap({ results }: Report): string {
  const out = ['TAP version 13', `1..${results.length}`];
  results.forEach((r, i) => {
    const name = `${r.doc}:${r.line} ${r.heading} [${r.column}]`;
    if (r.status === 'skipped') out.push(`ok ${i + 1} - ${name} # SKIP ${r.message ?? ''}`);
    else if (r.status === 'passed') out.push(`ok ${i + 1} - ${name}`);
    else {
      out.push(`not ok ${i + 1} - ${name}`, '  ---', `  message: ${JSON.stringify(r.message ?? '')}`);
      if (r.details) out.push('  details: |', ...r.details.split('\n').map((l) => `    ${l}`));
      out.push('  ...');
    }
  });
  return out.join('\n');
}

const xml = (s: string) => s.replace(/[<>&"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[ch]!)
  .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');

export function junit({ results }: Report): string {
  const docs = [...new Set(results.map((r) => r.doc))];
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<testsuites>'];
  for (const doc of docs) {
    const mine = results.filter((r) => r.doc === doc);
    const count = (s: Result['status']) => mine.filter((r) => r.status === s).length;
    out.push(`  <testsuite name="${xml(doc)}" tests="${mine.length}" failures="${count('failed')}" skipped="${count('skipped')}">`);
    for (const r of mine) {
      const open = `    <testcase classname="${xml(doc)}" name="${xml(`${r.line} ${r.heading} [${r.column}]`)}" time="${((r.ms ?? 0) / 1000).toFixed(3)}"`;
      if (r.status === 'passed') out.push(`${open}/>`);
      else if (r.status === 'skipped') out.push(`${open}><skipped message="${xml(r.message ?? '')}"/></testcase>`);
      else out.push(`${open}><failure message="${xml(r.message ?? '')}">${xml(r.details ?? '')}</failure></testcase>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n');
}

export function json({ results, runtimes }: Report): string {
  const counts = Object.fromEntries((['passed', 'failed', 'skipped'] as const).map((s) => [s, results.filter((r) => r.status === s).length]));
  return JSON.stringify({ ...counts, runtimes, results }, null, 2);
}

export const reporters = { pretty, tap, junit, json } satisfies Record<ReporterName, (r: Report) => string>;
