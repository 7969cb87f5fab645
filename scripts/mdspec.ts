#!/usr/bin/env -S node --import tsx
// mdspec: runs the TypeScript blocks of Markdown docs as specs, on Node, Node 24, Deno and Bun.
// Usage is in docs/mdspec.md; `mdspec --help` prints the short form.
import { existsSync, readFileSync, readdirSync, statSync, watch } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs as parseArgv } from 'node:util';
import { DocError, parseDoc, RUNTIMES, type Doc, type Runtime } from './mdspec/parse.ts';
import { detect, projectRoot } from './mdspec/runtimes.ts';
import { runDocs, type Column, type Result } from './mdspec/runner.ts';
import { REPORTERS, reporters, summary, type ReporterName } from './mdspec/report.ts';
import { killAll } from './mdspec/exec.ts';
import { removeAll, shown } from './mdspec/workspace.ts';

declare const MDSPEC_VERSION: string | undefined; // set in the bundle (scripts/build.ts)
const VERSION = typeof MDSPEC_VERSION === 'string' ? MDSPEC_VERSION
  : JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version as string;

const HELP = `usage: mdspec [options] [files or folders]   (default: docs/)

  -j, --jobs N         docs run in parallel (default: the number of cores)
  --runtime LIST       runtimes to run, comma-separated: ${RUNTIMES.join(',')} (default: all)
  --reporter NAME      ${REPORTERS.join(' | ')} (default: pretty); others print the summary on stderr
  --filter TEXT        run only the blocks whose heading or file:line holds TEXT (repeatable)
  --bail               start no block after the first failure
  -w, --watch          run again whenever a file under the working folder changes
  --no-typecheck       do not type-check the blocks
  -v, --version        mdspec's version
  -h, --help           this text

Colour follows NO_COLOR and FORCE_COLOR, else whether stdout is a terminal.`;

interface Options { paths: string[]; jobs: number; runtimes: Runtime[]; reporter: ReporterName; typecheck: boolean; filters: string[]; bail: boolean; watch: boolean }

/** Thrown for bad usage; printed as one line, exit 2. */
class UsageError extends Error {}

const FLAGS = {
  jobs: { type: 'string', short: 'j' },
  runtime: { type: 'string' },
  reporter: { type: 'string' },
  filter: { type: 'string', multiple: true },
  bail: { type: 'boolean' },
  watch: { type: 'boolean', short: 'w' },
  'no-typecheck': { type: 'boolean' },
  version: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseArgs(argv: string[]): Options {
  // Not strict, so that a bad option gets mdspec's own sentence; the tokens say what was given.
  const { values, positionals, tokens } = parseArgv({ args: argv, options: FLAGS, allowPositionals: true, strict: false, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const flag = FLAGS[t.name as keyof typeof FLAGS];
    if (!flag) throw new UsageError(`unknown option ${t.rawName}: see mdspec --help`);
    if (flag.type === 'string' && t.value === undefined) throw new UsageError(`${t.rawName} needs a value: see mdspec --help`);
  }
  if (values.help) { console.log(HELP); process.exit(0); }
  if (values.version) { console.log(VERSION); process.exit(0); }
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const jobs = text(values.jobs) === undefined ? availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError('--jobs takes a positive whole number');
  let runtimes: Runtime[] = [...RUNTIMES];
  if (text(values.runtime) !== undefined) {
    const names = text(values.runtime)!.split(',').filter(Boolean);
    const bad = names.find((n) => !(RUNTIMES as readonly string[]).includes(n));
    if (bad || names.length === 0) throw new UsageError(`unknown runtime "${bad ?? ''}": use ${RUNTIMES.join(',')}`);
    runtimes = names as Runtime[];
  }
  const reporter = text(values.reporter) ?? 'pretty';
  if (!(REPORTERS as string[]).includes(reporter)) throw new UsageError(`unknown reporter "${reporter}": use ${REPORTERS.join(', ')}`);
  const filters = (Array.isArray(values.filter) ? values.filter : []).filter((f): f is string => typeof f === 'string');
  return {
    paths: positionals.length ? positionals : ['docs'], jobs, runtimes, reporter: reporter as ReporterName,
    typecheck: !values['no-typecheck'], filters, bail: !!values.bail, watch: !!values.watch,
  };
}

/** Colour as the conventions say: FORCE_COLOR (0 turns it off), then NO_COLOR, then a terminal. */
function colour(): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  return !process.env.NO_COLOR && !!process.stdout.isTTY;
}

/** Only the blocks --filter picks (and every file= module, which they may import); docs left with none go. */
function filtered(docs: Doc[], filters: string[], cwd: string): Doc[] {
  if (filters.length === 0) return docs;
  const wanted = filters.map((f) => f.toLowerCase());
  const picks = (doc: Doc, line: number, heading: string) =>
    wanted.some((f) => heading.toLowerCase().includes(f) || `${shown(doc.path, cwd)}:${line}`.toLowerCase().includes(f));
  const kept = docs
    .map((doc) => ({ ...doc, blocks: doc.blocks.filter((b) => b.file || picks(doc, b.line, b.heading)) }))
    .filter((doc) => doc.blocks.some((b) => !b.file));
  if (kept.length === 0) throw new UsageError(`no block's heading or file:line holds ${filters.map((f) => JSON.stringify(f)).join(' or ')}`);
  return kept;
}

function collect(path: string): string[] {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file or folder`);
  if (statSync(path).isFile()) return [resolve(path)];
  return readdirSync(path, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules')
    .flatMap((e) => (e.isDirectory() ? collect(join(path, e.name)) : e.name.endsWith('.md') ? [resolve(path, e.name)] : []))
    .sort();
}

/** One run over the docs; the exit code it calls for. */
async function once(opts: Options, cwd: string): Promise<number> {
  const files = [...new Set(opts.paths.flatMap(collect))];
  if (files.length === 0) throw new UsageError(`${opts.paths.join(', ')}: no Markdown files`);
  const parsed: Doc[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try { parsed.push(parseDoc(file, readFileSync(file, 'utf8'))); } catch (e) {
      if (!(e instanceof DocError)) throw e;
      problems.push(`${shown(file, cwd)}:${e.line}: ${e.reason}`);
    }
  }
  if (problems.length) { for (const p of problems) console.error(p); return 2; }
  const docs = filtered(parsed, opts.filters, cwd);

  const runtimes = await detect(opts.runtimes, projectRoot(cwd));
  const columns: Column[] = [...(opts.typecheck ? ['tsc' as const] : []), ...opts.runtimes];
  // A terminal gets one line that rewrites itself; a log (CI) gets a line for each doc as it ends.
  const tty = process.stderr.isTTY && opts.reporter === 'pretty';
  const started = performance.now();
  const results = await runDocs(docs, {
    cwd, root: projectRoot(cwd), jobs: opts.jobs, runtimes, typecheck: opts.typecheck, bail: opts.bail,
    onResult: tty ? (r, done, total) => process.stderr.write(`\r\x1b[K[${done}/${total}] ${r.doc}:${r.line} ${r.column} ${r.status}`) : undefined,
    onDoc: tty ? undefined : (doc: string, mine: Result[]) => console.error(`${doc}: ${summary(mine)} (${((performance.now() - started) / 1000).toFixed(1)} s)`),
  });
  if (tty) process.stderr.write('\r\x1b[K');
  const report = reporters[opts.reporter]({ results, runtimes, columns, color: colour() });
  console.log(report);
  (opts.reporter === 'pretty' ? console.log : console.error)(summary(results));
  return results.some((r) => r.status === 'failed') ? 1 : 0;
}

/** --watch: a run, then another after each burst of changes under `cwd`, until interrupted. */
async function watching(opts: Options, cwd: string): Promise<never> {
  const ignored = /(^|\/)(node_modules|\.mdspec|\.git)(\/|$)/;
  for (;;) {
    try { await once(opts, cwd); } catch (e) { if (e instanceof UsageError) console.error(`mdspec: ${e.message}`); else throw e; }
    const changed = await new Promise<string>((done) => {
      let timer: ReturnType<typeof setTimeout> | undefined, first = '';
      const watcher = watch(cwd, { recursive: true }, (_event, name) => {
        const file = String(name ?? '');
        if (ignored.test(file)) return;
        first ||= file;
        clearTimeout(timer);
        // Editors write a file in several steps: one run for the burst.
        timer = setTimeout(() => { watcher.close(); done(first); }, 200);
      });
      console.error('mdspec: watching for changes (Ctrl-C to stop)'); // only now: a change from here on is seen
    });
    console.error(`mdspec: ${relative(cwd, resolve(cwd, changed))} changed, running again`);
  }
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const cwd = process.cwd();
  return opts.watch ? watching(opts, cwd) : once(opts, cwd);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => { killAll(); removeAll(); process.exit(130); });
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  killAll();
  removeAll();
  // Bad usage is the user's to fix and needs no stack; anything else is mdspec's bug and keeps one.
  if (e instanceof UsageError) console.error(`mdspec: ${e.message}`);
  else console.error(`mdspec: internal error, please report it: ${e instanceof Error ? e.stack : String(e)}`);
  process.exitCode = 2;
});
