#!/usr/bin/env -S node --import tsx
// mdspec: runs the TypeScript blocks of Markdown docs as specs, on Node, Node 24, Deno and Bun.
// Usage is in docs/mdspec.md; `mdspec --help` prints the short form.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { DocError, parseDoc, RUNTIMES, type Doc, type Runtime } from './mdspec/parse.ts';
import { detect, projectRoot } from './mdspec/runtimes.ts';
import { runDocs, type Column } from './mdspec/runner.ts';
import { REPORTERS, reporters, summary, type ReporterName } from './mdspec/report.ts';
import { killAll } from './mdspec/exec.ts';
import { removeAll, shown } from './mdspec/workspace.ts';

const HELP = `usage: mdspec [options] [files or folders]   (default: docs/)

  -j, --jobs N         docs run in parallel (default: the number of cores)
  --runtime LIST       runtimes to run, comma-separated: ${RUNTIMES.join(',')} (default: all)
  --reporter NAME      ${REPORTERS.join(' | ')} (default: pretty); others print the summary on stderr
  --no-typecheck       do not type-check the blocks
  -h, --help           this text`;

interface Options { paths: string[]; jobs: number; runtimes: Runtime[]; reporter: ReporterName; typecheck: boolean }

/** Thrown for bad usage; printed as one line, exit 2. */
class UsageError extends Error {}

function parseArgs(argv: string[]): Options {
  const opts: Options = { paths: [], jobs: availableParallelism(), runtimes: [...RUNTIMES], reporter: 'pretty', typecheck: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value: see mdspec --help`);
      return v;
    };
    if (flag === '-h' || flag === '--help') { console.log(HELP); process.exit(0); }
    else if (flag === '-j' || flag === '--jobs') {
      opts.jobs = Number(value());
      if (!Number.isInteger(opts.jobs) || opts.jobs < 1) throw new UsageError(`${flag} takes a positive whole number`);
    } else if (flag === '--runtime') {
      const names = value().split(',').filter(Boolean);
      const bad = names.find((n) => !(RUNTIMES as readonly string[]).includes(n));
      if (bad || names.length === 0) throw new UsageError(`unknown runtime "${bad ?? ''}": use ${RUNTIMES.join(',')}`);
      opts.runtimes = names as Runtime[];
    } else if (flag === '--reporter') {
      const name = value();
      if (!(REPORTERS as string[]).includes(name)) throw new UsageError(`unknown reporter "${name}": use ${REPORTERS.join(', ')}`);
      opts.reporter = name as ReporterName;
    } else if (flag === '--no-typecheck') opts.typecheck = false;
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}: see mdspec --help`);
    else opts.paths.push(arg);
  }
  if (opts.paths.length === 0) opts.paths.push('docs');
  return opts;
}

function collect(path: string): string[] {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file or folder`);
  if (statSync(path).isFile()) return [resolve(path)];
  return readdirSync(path, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && e.name !== 'node_modules')
    .flatMap((e) => (e.isDirectory() ? collect(join(path, e.name)) : e.name.endsWith('.md') ? [resolve(path, e.name)] : []))
    .sort();
}

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const cwd = process.cwd();
  const files = [...new Set(opts.paths.flatMap(collect))];
  if (files.length === 0) throw new UsageError(`${opts.paths.join(', ')}: no Markdown files`);
  const docs: Doc[] = [];
  const problems: string[] = [];
  for (const file of files) {
    try { docs.push(parseDoc(file, readFileSync(file, 'utf8'))); } catch (e) {
      if (!(e instanceof DocError)) throw e;
      problems.push(`${shown(file, cwd)}:${e.line}: ${e.reason}`);
    }
  }
  if (problems.length) { for (const p of problems) console.error(p); return 2; }

  const runtimes = await detect(opts.runtimes, projectRoot(cwd));
  const columns: Column[] = [...(opts.typecheck ? ['tsc' as const] : []), ...opts.runtimes];
  const tty = process.stderr.isTTY && opts.reporter === 'pretty';
  const results = await runDocs(docs, {
    cwd, root: projectRoot(cwd), jobs: opts.jobs, runtimes, typecheck: opts.typecheck,
    onResult: tty ? (r, done, total) => process.stderr.write(`\r\x1b[K[${done}/${total}] ${r.doc}:${r.line} ${r.column} ${r.status}`) : undefined,
  });
  if (tty) process.stderr.write('\r\x1b[K');
  const report = reporters[opts.reporter]({ results, runtimes, columns, color: !!process.stdout.isTTY && !process.env.NO_COLOR });
  console.log(report);
  (opts.reporter === 'pretty' ? console.log : console.error)(summary(results));
  return results.some((r) => r.status === 'failed') ? 1 : 0;
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
