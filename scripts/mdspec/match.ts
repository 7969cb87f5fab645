// Matches a program's output against an `output` block: `...` lines and inline `...`, `<name>`
// bindings that must agree everywhere, `unordered` and `distinct`. Claims about concurrency need the
// last three: "these lines share one id, those each have their own, in any order".

export interface Pattern {
  lines: string[];
  unordered?: boolean;
  distinct?: boolean;
}

export type MatchResult = { ok: true; bindings: Record<string, string> } | { ok: false; reason: string };

interface Line {
  any: boolean; // a line that is just `...`: any number of lines
  parts: (string | { name: string })[]; // literal text, `...` as { name: '...' }, or a binding
}
type Bindings = Map<string, string>;

const TOKEN = /(\.\.\.)|<([A-Za-z_][\w-]*)>/g;
const STEP_LIMIT = 200_000;

/** Splits output into lines as compared: trailing whitespace dropped, trailing blank lines ignored. */
export function normalize(text: string | string[]): string[] {
  const lines = (typeof text === 'string' ? text.split(/\r?\n/) : text).map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function compile(text: string): Line {
  if (text === '...') return { any: true, parts: [] };
  const parts: Line['parts'] = [];
  let at = 0;
  for (const m of text.matchAll(TOKEN)) {
    if (m.index > at) parts.push(text.slice(at, m.index));
    parts.push({ name: m[1] ? '...' : m[2] });
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return { any: false, parts };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Matches one line; returns the bindings it adds, or null. `loose` treats every name as `<_>`. */
function matchLine(line: Line, actual: string, bound: Bindings, distinct: boolean, loose: boolean): Bindings | null {
  const names: string[] = [];
  let source = '^';
  for (const part of line.parts) {
    if (typeof part === 'string') source += escape(part);
    else if (part.name === '...') source += '.*?';
    else if (part.name === '_' || loose) source += '\\S+';
    else if (bound.has(part.name)) source += escape(bound.get(part.name)!);
    else if (names.includes(part.name)) source += `\\${names.indexOf(part.name) + 1}`;
    else { names.push(part.name); source += '(\\S+)'; }
  }
  const m = new RegExp(source + '$').exec(actual);
  if (!m) return null;
  const added: Bindings = new Map();
  names.forEach((name, i) => added.set(name, m[i + 1]));
  if (distinct) {
    const taken = new Set(bound.values());
    const fresh = [...added.values()];
    if (fresh.some((v) => taken.has(v)) || new Set(fresh).size < fresh.length) return null;
  }
  return added;
}

function merge(a: Bindings, b: Bindings): Bindings {
  return b.size === 0 ? a : new Map([...a, ...b]);
}

/** Finds which actual line each expected line matched (or -1 for `...`), or null if none fits. */
function solve(pattern: Line[], actual: string[], unordered: boolean, distinct: boolean, loose: boolean) {
  let steps = 0;
  const assignment: number[] = new Array(pattern.length).fill(-1);

  const ordered = (i: number, j: number, bound: Bindings): Bindings | null => {
    if (++steps > STEP_LIMIT) return null;
    if (i === pattern.length) return j === actual.length ? bound : null;
    if (pattern[i].any) {
      for (let k = j; k <= actual.length; k++) {
        const done = ordered(i + 1, k, bound);
        if (done) return done;
      }
      return null;
    }
    if (j >= actual.length) return null;
    const added = matchLine(pattern[i], actual[j], bound, distinct, loose);
    if (!added) return null;
    assignment[i] = j;
    return ordered(i + 1, j + 1, merge(bound, added));
  };

  const open = pattern.some((l) => l.any);
  const order = pattern.map((_, i) => i).filter((i) => !pattern[i].any);
  // Most constrained lines first: it prunes the search and keeps unordered matching fast.
  const candidates = order.map((i) => actual.map((a, j) => (matchLine(pattern[i], a, new Map(), false, true) ? j : -1)).filter((j) => j >= 0));
  const sorted = order.map((i, k) => ({ i, c: candidates[k] })).sort((x, y) => x.c.length - y.c.length);
  const used = new Set<number>();

  const any = (k: number, bound: Bindings): Bindings | null => {
    if (++steps > STEP_LIMIT) return null;
    if (k === sorted.length) return open || used.size === actual.length ? bound : null;
    const { i, c } = sorted[k];
    for (const j of c) {
      if (used.has(j)) continue;
      const added = matchLine(pattern[i], actual[j], bound, distinct, loose);
      if (!added) continue;
      used.add(j);
      assignment[i] = j;
      const done = any(k + 1, merge(bound, added));
      if (done) return done;
      used.delete(j);
    }
    return null;
  };

  const bound = unordered ? any(0, new Map()) : ordered(0, 0, new Map());
  return bound ? { bound, assignment } : null;
}

export function match(expected: Pattern, actualText: string | string[]): MatchResult {
  const pattern = normalize(expected.lines).map(compile);
  const actual = normalize(actualText);
  const unordered = !!expected.unordered;
  const distinct = !!expected.distinct;
  const strict = solve(pattern, actual, unordered, distinct, false);
  if (strict) return { ok: true, bindings: Object.fromEntries(strict.bound) };
  const loose = solve(pattern, actual, unordered, false, true);
  if (!loose) return { ok: false, reason: unordered ? 'the lines differ (in any order)' : 'the lines differ' };
  return { ok: false, reason: explainBindings(pattern, actual, loose.assignment, distinct) };
}

// The text matched, the bindings did not: name the binding and the output lines that disagree.
function explainBindings(pattern: Line[], actual: string[], assignment: number[], distinct: boolean): string {
  const seen = new Map<string, { value: string; line: number }[]>();
  pattern.forEach((line, i) => {
    if (line.any || assignment[i] < 0) return;
    const names = line.parts.filter((p): p is { name: string } => typeof p !== 'string' && p.name !== '...' && p.name !== '_');
    const fresh = matchLine(line, actual[assignment[i]], new Map(), false, false);
    for (const { name } of names) {
      const value = fresh?.get(name);
      if (value !== undefined) seen.set(name, [...(seen.get(name) ?? []), { value, line: assignment[i] + 1 }]);
    }
  });
  for (const [name, uses] of seen) {
    const other = uses.find((u) => u.value !== uses[0].value);
    if (other) return `<${name}> was ${uses[0].value} on line ${uses[0].line}, ${other.value} on line ${other.line}`;
  }
  if (distinct) {
    const owner = new Map<string, { name: string; line: number }>();
    for (const [name, uses] of seen) {
      const first = owner.get(uses[0].value);
      if (first) return `<${first.name}> and <${name}> were both ${uses[0].value} (lines ${first.line} and ${uses[0].line}) but the block is distinct`;
      owner.set(uses[0].value, { name, line: uses[0].line });
    }
  }
  return 'the bindings cannot all agree';
}

/** A line diff of expected against actual, `-` for expected lines not seen, `+` for extra output. */
export function diff(expectedLines: string[], actualText: string | string[]): string[] {
  // `...` lines are left out: whatever they would absorb shows as `+`, which is still the truth.
  const pattern = normalize(expectedLines).filter((l) => l !== '...');
  const compiled = pattern.map(compile);
  const actual = normalize(actualText);
  const same = (i: number, j: number) => !!matchLine(compiled[i], actual[j], new Map(), false, true);
  // Longest common subsequence, with "same" meaning the expected line's pattern fits the actual line.
  const n = pattern.length, m = actual.length;
  const table = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i][j] = same(i, j) ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const out: string[] = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && same(i, j) && table[i][j] === table[i + 1][j + 1] + 1) { out.push(`  ${actual[j]}`); i++; j++; }
    else if (j < m && (i === n || table[i][j + 1] >= table[i + 1][j])) out.push(`+ ${actual[j++]}`);
    else out.push(`- ${pattern[i++]}`);
  }
  return out;
}
