// Writes a doc's blocks out as modules beside the doc (so `mpkit` and node_modules resolve as they
// would for the reader) and maps file:line in anything they print back to the Markdown.
import { mkdirSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Block, Doc } from './parse.ts';

export interface Workspace {
  doc: Doc;
  dir: string;
  files: Map<Block, string>; // absolute path of each block's module
  rewrite(text: string): string; // block paths and lines → doc path and lines
  remove(): void;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const live = new Set<Workspace>();

/** Removes every workspace still on disk; mdspec calls it when it is interrupted. */
export function removeAll() {
  for (const space of live) space.remove();
}

/** A path as reports show it: relative to the working directory when it lies below it. */
export function shown(path: string, cwd: string): string {
  return path.startsWith(cwd + '/') ? path.slice(cwd.length + 1) : path;
}

export function blockName(block: Block): string {
  // A js block is an ES module, like a ts one, whatever the project's package.json says of .js.
  return block.file ?? `line-${block.line}.${block.lang === 'ts' ? 'ts' : 'mjs'}`;
}

export function createWorkspace(doc: Doc, cwd: string): Workspace {
  const parent = join(dirname(doc.path), '.mdspec');
  // The pid keeps two mdspec runs over the same doc (say, the specs and the docs) apart.
  const dir = join(parent, `${process.pid}-${basename(doc.path, '.md')}`);
  mkdirSync(dir, { recursive: true });
  const files = new Map<Block, string>();
  const starts = new Map<string, number>();
  for (const block of doc.blocks) {
    if (block.skip) continue;
    const file = join(dir, blockName(block));
    writeFileSync(file, block.code + '\n');
    files.set(block, file);
    starts.set(blockName(block), block.line);
  }
  const docPath = shown(doc.path, cwd);
  const pattern = new RegExp(`(?:file://)?${escape(dir)}/([\\w.-]+\\.(?:ts|mjs))(?::(\\d+))?`, 'g');
  const space: Workspace = {
    doc, dir, files,
    rewrite: (text) => text.replace(pattern, (whole, name: string, line?: string) => {
      const start = starts.get(name);
      if (start === undefined) return whole;
      return line ? `${docPath}:${start + Number(line) - 1}` : docPath;
    }),
    remove() {
      live.delete(space);
      rmSync(dir, { recursive: true, force: true });
      try { if (readdirSync(parent).length === 0) rmdirSync(parent); } catch { /* another run owns it */ }
    },
  };
  live.add(space);
  return space;
}
