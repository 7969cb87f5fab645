// Type-checks every block against the project's real types with one tsc run over the extracted
// modules, then files each diagnostic under its block with the Markdown line it points at.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Block } from './parse.ts';
import type { Workspace } from './workspace.ts';
import { run } from './exec.ts';

export type TypeReport = { skipped: string } | { errors: Map<Block, string[]> };

export async function typecheck(spaces: Workspace[], root: string): Promise<TypeReport> {
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  if (!existsSync(tsc)) return { skipped: 'typescript is not installed: npm install -D typescript' };
  const byFile = new Map<string, { block: Block; space: Workspace }>();
  for (const space of spaces) for (const [block, file] of space.files) if (block.lang === 'ts') byFile.set(resolve(file), { block, space });
  if (byFile.size === 0) return { errors: new Map() };

  // The config sits inside the project so @types and the package's own name resolve from there.
  const cache = join(root, 'node_modules', '.cache', 'mdspec');
  mkdirSync(cache, { recursive: true });
  const config = join(cache, `tsconfig.${process.pid}.json`);
  const base = join(root, 'tsconfig.json');
  writeFileSync(config, JSON.stringify({
    ...(existsSync(base) ? { extends: base } : {}),
    compilerOptions: {
      noEmit: true, allowImportingTsExtensions: true, skipLibCheck: true,
      ...(existsSync(base) ? {} : { module: 'nodenext', target: 'es2023', strict: true }),
    },
    files: [...byFile.keys()],
    include: [],
  }));
  try {
    const result = await run(tsc, ['-p', config, '--pretty', 'false'], { cwd: root, timeout: 120_000 });
    const errors = new Map<Block, string[]>();
    let current: string[] | null = null;
    for (const line of result.stdout.split('\n')) {
      const m = /^(.+?\.ts)\((\d+),(\d+)\): (error .*)$/.exec(line);
      if (!m) { if (current && line.startsWith(' ')) current[current.length - 1] += '\n' + line; continue; }
      const owner = byFile.get(resolve(root, m[1]));
      if (!owner) { current = null; continue; } // errors in the project itself: its own type-check reports them
      const { block, space } = owner;
      current = errors.get(block) ?? [];
      errors.set(block, current);
      const at = space.rewrite(`${resolve(root, m[1])}:${m[2]}`);
      current.push(`${at}:${m[3]} ${m[4]}`);
    }
    if (result.code !== 0 && errors.size === 0 && !/error TS/.test(result.stdout)) {
      return { skipped: `tsc failed to run: ${(result.stderr || result.stdout).trim().split('\n')[0]}` };
    }
    return { errors };
  } finally {
    rmSync(config, { force: true });
  }
}
