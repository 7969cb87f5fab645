// The runtime seam's other half: the command and environment that start a child process on Node,
// Deno or Bun, and what a worker thread loads, with the flags that let each read TypeScript. Only
// parents need it, so it stays out of what every child loads at its start (child.ts).
import { builtin } from './builtins.ts';
import { ownFile } from './files.ts';
import { runtime, type RuntimeName } from './runtime.ts';
import { TS_FILE, bundledModule } from './ts_bundle.ts';

/**
 * The command that runs `entry` (a file path) on `on`: by default this runtime, with the same flags.
 * `typescript`: whether the child may read TypeScript, as childModule() says.
 */
export function childCommand(entry: string, on: RuntimeName = runtime, typescript = true): [string, string[]] {
  if (on === runtime) {
    if (runtime === 'deno') return [process.execPath, ['run', '-A', entry]];
    if (runtime === 'bun') return [process.execPath, [entry]];
    // Node's flags carry over, so the child reads TypeScript as the parent did; tsx's give way to
    // mpkit's cached loader, which starts several times faster.
    return [process.execPath, [...nodeFlags(typescript), entry]];
  }
  const bin = locate(on);
  if (on === 'deno') return [bin, ['run', '-A', entry]];
  if (on === 'bun') return [bin, [entry]];
  return [bin, [...nodeTypeScript(bin), entry]];
}

/**
 * Environment a child on `on` should get. A Node with a compile cache (22.1+) keeps the code it
 * compiled (TypeScript stripped, too) for the next child, which then starts about twice as fast.
 */
export function childEnv(on: RuntimeName = runtime): Record<string, string> {
  if (on !== 'node' || process.env.NODE_COMPILE_CACHE) return {};
  return { NODE_COMPILE_CACHE: builtin('node:path').join(builtin('node:os').tmpdir(), 'node-compile-cache') }; // Node's own default folder
}

const located = new Map<RuntimeName, string>();

const executable = (bin: string) => {
  const fs = builtin('node:fs');
  try { fs.accessSync(bin, fs.constants.X_OK); return true; } catch { return false; }
};

/**
 * Another runtime's binary: MPKIT_NODE, MPKIT_DENO or MPKIT_BUN if set, else the first on PATH,
 * else one installed from npm in a node_modules/.bin of the working directory or above it.
 */
function locate(name: RuntimeName): string {
  const known = located.get(name);
  if (known) return known;
  const { delimiter, dirname, join } = builtin('node:path');
  const dirs = (process.env.PATH ?? '').split(delimiter);
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    dirs.push(join(dir, 'node_modules', '.bin'));
    if (dirname(dir) === dir) break;
  }
  const found = process.env[`MPKIT_${name.toUpperCase()}`] ?? dirs.map((dir) => join(dir, name)).find(executable);
  if (!found) throw new Error(`No ${name} on PATH to start the child with: install it, or set MPKIT_${name.toUpperCase()} to its path`);
  located.set(name, found);
  return found;
}

/** The flags another Node needs to import TypeScript: none from 23.6, a flag on 22, tsx before that. */
function nodeTypeScript(bin: string): string[] {
  const [major, minor] = builtin('node:child_process').execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().slice(1).split('.').map(Number);
  if (major > 23 || (major === 23 && minor >= 6)) return [];
  if (major >= 22) return ['--experimental-strip-types', '--no-warnings=ExperimentalWarning'];
  try {
    return ['--import', import.meta.resolve('tsx')];
  } catch {
    throw new Error(`Node ${major} reads TypeScript only through tsx: npm install tsx, or pick a newer Node`);
  }
}

const TSX_FLAG = /(^|[/\\])tsx([/\\]|$)/;
const loaderURL = ownFile('platform/ts_register.mjs').href;
const isLoader = (value: string) => TSX_FLAG.test(value) || value === loaderURL;

/** How many of execArgv's words from i on load TypeScript (tsx, or mpkit's loader): 0, 1 or 2. */
function loaderFlag(argv: string[], i: number): number {
  if (/^--(import|require|loader|experimental-loader)$/.test(argv[i]) && isLoader(argv[i + 1] ?? '')) return 2;
  const joined = /^--(import|require|loader|experimental-loader)=(.*)$/.exec(argv[i]);
  return joined && isLoader(joined[2]) ? 1 : 0;
}

const flags = new Map<boolean, string[]>();

/**
 * This Node's flags for a child: a TypeScript loader (tsx's, or mpkit's) gives way to mpkit's,
 * where esbuild can be found, if the child reads TypeScript, and to none if it does not.
 */
function nodeFlags(typescript: boolean): string[] {
  const known = flags.get(typescript);
  if (known) return known;
  const argv = process.execArgv, kept: string[] = [];
  let loads = false;
  for (let i = 0; i < argv.length; i++) {
    const words = loaderFlag(argv, i);
    if (words) { loads = true; i += words - 1; } else kept.push(argv[i]);
  }
  const chosen = !loads ? [...argv] : !typescript ? kept : canTranspile() ? ['--import', loaderURL, ...kept] : [...argv];
  flags.set(typescript, chosen);
  return chosen;
}

/**
 * Lets a JavaScript program started without a TypeScript loader (the `mpkit worker` command)
 * import the TypeScript `module`, and its children too: on a Node that does not strip types, the
 * loader is registered here and added to the flags children inherit, as if given on the command line.
 */
export async function readTypeScript(module: string): Promise<void> {
  if (runtime !== 'node' || strips() || !TS_FILE.test(module) || process.execArgv.some((_, i, argv) => loaderFlag(argv, i))) return;
  if (!canTranspile()) {
    throw new Error(`Node ${process.versions.node} reads TypeScript (${module}) only with esbuild or tsx installed: npm install -D tsx, use Node 22.6 or later, or give a .js module`);
  }
  await import(loaderURL);
  process.execArgv.push('--import', loaderURL);
  flags.clear();
}

function canTranspile(): boolean {
  try { import.meta.resolve('esbuild'); return true; } catch { return false; }
}

const threadEntry = ownFile('platform/thread_entry.mjs');

/** Whether this Node strips types itself (22.6 and later). */
const strips = () => Boolean((process.features as { typescript?: unknown }).typescript);

/** A flag's values in this Node's execArgv (`--conditions`, `-C`), in both of their spellings. */
function flagValues(names: string[]): string[] {
  const argv = process.execArgv, out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [name, value] = argv[i].split(/=(.*)/s);
    if (names.includes(name)) out.push(value ?? argv[++i] ?? '');
  }
  return out;
}

/**
 * What a child of this runtime imports for its target's `module`, and whether it may read
 * TypeScript (and so keeps the loader this process reads it with, if any). On a Node without type
 * stripping, a TypeScript module is swapped for its bundle once there is one (ts_bundle.ts), and
 * that child is known to need no loader. Any other child may: a pool's worker imports the tasks'
 * modules, a manager's server the program's. mpkit running from its sources (the mpkit-source
 * condition) is read by the loader alone.
 */
export function childModule(module: string, bootstrap: URL): { module: string; typescript: boolean } {
  if (runtime !== 'node' || strips() || !TS_FILE.test(new URL(module).pathname) || TS_FILE.test(bootstrap.pathname)) return { module, typescript: true };
  const conditions = flagValues(['--conditions', '-C']);
  const bundle = conditions.includes('mpkit-source') || !canTranspile() ? null : bundledModule(module, conditions);
  return bundle ? { module: bundle, typescript: false } : { module, typescript: true };
}

/**
 * What a worker thread should load to run the bootstrap (a URL) for a target in `module`, and with
 * which Node flags. Where neither is TypeScript (a JavaScript program using the built package),
 * nothing needs reading as TypeScript. Otherwise Node 20 reads it through mpkit's loader
 * (ts_register.mjs, passed as a flag), or, where esbuild cannot be found, the worker registers tsx
 * itself first, which costs a tsx start-up per thread. `typescript`: as childModule() says.
 */
export function workerEntry(bootstrap: URL, module: string, typescript = true): { file: URL | string; eval: boolean; execArgv?: string[] } {
  if (runtime !== 'node') return { file: threadEntry, eval: false };
  const readsTs = TS_FILE.test(bootstrap.pathname) || TS_FILE.test(new URL(module).pathname);
  if (strips() || !readsTs || canTranspile()) return { file: threadEntry, eval: false, execArgv: nodeFlags(typescript) };
  let tsx: string;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    throw new Error(`Node ${process.versions.node} reads TypeScript (${module}) only through tsx: npm install tsx, or use Node 22.6 or later`);
  }
  const code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(bootstrap.href)}); })`;
  return { file: code, eval: true };
}
