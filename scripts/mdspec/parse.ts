// Turns a Markdown doc into the specs it holds, using markdown-it's token stream (never regexes over
// Markdown), so fences inside lists and blockquotes, tilde and longer fences and CRLF all parse right.
import MarkdownIt from 'markdown-it';

export const RUNTIMES = ['node', 'node24', 'node26', 'deno', 'bun'] as const;
export type Runtime = (typeof RUNTIMES)[number];

export interface Expected {
  stream: 'stdout' | 'stderr';
  lines: string[];
  unordered: boolean;
  distinct: boolean;
  runtimes: Runtime[] | null; // null: every runtime without an output block of its own
  line: number; // 1-based Markdown line of the first expected line
}

export interface Block {
  lang: 'ts' | 'js';
  line: number; // 1-based Markdown line of the first code line
  endLine: number;
  code: string;
  heading: string;
  skip: boolean;
  noRun: boolean;
  fails: boolean;
  alone: boolean; // runs with no other block running: for claims about timing or parallelism
  runtimes: Runtime[] | null;
  needs: string[]; // commands the block runs (needs=redis-server): where one is not on PATH, it is skipped, saying so
  timeout: number;
  repeat: number;
  file: string | null;
  expected: Expected[];
}

export interface Doc {
  path: string;
  blocks: Block[];
}

/** A problem with a doc itself, reported as `file:line: message` and a non-zero exit. */
export class DocError extends Error {
  readonly path: string;
  readonly line: number;
  readonly reason: string;
  constructor(path: string, line: number, reason: string) {
    super(`${path}:${line}: ${reason}`);
    this.name = 'DocError';
    this.path = path;
    this.line = line;
    this.reason = reason;
  }
}

const CODE_LANGS = new Map<string, Block['lang']>([['ts', 'ts'], ['typescript', 'ts'], ['js', 'js'], ['javascript', 'js'], ['mjs', 'js']]);
const FLAGS = new Set(['skip', 'no-run', 'fails', 'alone']);
const OUTPUT_FLAGS = new Set(['stderr', 'unordered', 'distinct']);
const md = new MarkdownIt();

export function parseDoc(path: string, source: string): Doc {
  const lines = source.split(/\r?\n/);
  const tokens = md.parse(source, {});
  const blocks: Block[] = [];
  const files = new Map<string, number>();
  let heading = '';
  let last: Block | null = null;

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.type === 'heading_open') heading = tokens[i + 1]?.content ?? '';
    if (token.type !== 'fence' || !token.map) continue;
    const [lang, ...attrs] = token.info.trim().split(/\s+/);
    const fenceLine = token.map[0] + 1;
    const at = (message: string) => new DocError(path, fenceLine, message);
    if (!CODE_LANGS.has(lang) && lang !== 'output') continue;
    if (!closed(lines[token.map[1] - 1] ?? '', token.markup, token.map[1] - token.map[0])) {
      throw at(`unterminated ${token.markup} fence: close it with ${token.markup}`);
    }
    const content = token.content.replace(/\n$/, '');
    if (lang === 'output') {
      if (!last) throw at('output block has no ts or js block before it: put the code first');
      if (last.file) throw at(`output block follows file=${last.file}, which is not run: attach it to a block that runs`);
      last.expected.push(parseOutput(attrs, content, fenceLine + 1, at));
      continue;
    }
    const block = parseCode(CODE_LANGS.get(lang)!, attrs, content, fenceLine + 1, token.map[1], heading, at);
    if (block.file) {
      const first = files.get(block.file);
      if (first) throw at(`file=${block.file} is already defined on line ${first}: give each module its own name`);
      files.set(block.file, fenceLine);
    }
    blocks.push(block);
    last = block;
  }
  if (blocks.length === 0) throw new DocError(path, 1, 'no ts or js blocks: a doc run by mdspec needs at least one ```ts or ```js block');
  return { path, blocks };
}

// markdown-it ends a fence at the end of its container (the doc, a list item, a quote) even when
// no closing fence was written; the last line of the token's range tells the two apart.
function closed(lastLine: string, markup: string, span: number): boolean {
  if (span < 2) return false;
  const stripped = lastLine.replace(/^(\s*>)*\s*/, '').trimEnd();
  return stripped.length >= markup.length && [...stripped].every((c) => c === markup[0]);
}

function parseCode(lang: Block['lang'], attrs: string[], code: string, line: number, end: number, heading: string, at: (m: string) => DocError): Block {
  const block: Block = {
    lang, line, endLine: end, code, heading, skip: false, noRun: false, fails: false, alone: false,
    runtimes: null, needs: [], timeout: 10_000, repeat: 1, file: null, expected: [],
  };
  for (const attr of attrs) {
    const [key, value] = splitAttr(attr);
    if (FLAGS.has(attr)) {
      if (attr === 'skip') block.skip = true;
      else if (attr === 'no-run') block.noRun = true;
      else if (attr === 'alone') block.alone = true;
      else block.fails = true;
    } else if (key === 'runtime') block.runtimes = parseRuntimes(value, at);
    else if (key === 'needs') {
      block.needs = value.split(',').filter(Boolean);
      if (!block.needs.length || !block.needs.every((c) => /^[\w.+-]+$/.test(c))) throw at(`needs=${value} names no command: use needs=COMMAND[,COMMAND]`);
    } else if (key === 'timeout') block.timeout = positive(key, value, at);
    else if (key === 'repeat') block.repeat = positive(key, value, at);
    else if (key === 'file') {
      const ext = lang === 'ts' ? 'ts' : 'mjs';
      if (!new RegExp(`^[\\w.-]+\\.${ext}$`).test(value)) throw at(`file=${value} is not a module name: use file=NAME.${ext}`);
      block.file = value;
    } else throw at(`unknown attribute "${attr}": use skip, no-run, fails, alone, runtime=, needs=, timeout=, repeat= or file=`);
  }
  return block;
}

function parseOutput(attrs: string[], content: string, line: number, at: (m: string) => DocError): Expected {
  const expected: Expected = {
    stream: 'stdout', lines: content === '' ? [] : content.split('\n'),
    unordered: false, distinct: false, runtimes: null, line,
  };
  for (const attr of attrs) {
    const [key, value] = splitAttr(attr);
    if (attr === 'stderr') expected.stream = 'stderr';
    else if (attr === 'unordered') expected.unordered = true;
    else if (attr === 'distinct') expected.distinct = true;
    else if (key === 'runtime') expected.runtimes = parseRuntimes(value, at);
    else throw at(`unknown output attribute "${attr}": use ${[...OUTPUT_FLAGS].join(', ')} or runtime=`);
  }
  return expected;
}

function splitAttr(attr: string): [string, string] {
  const eq = attr.indexOf('=');
  return eq < 0 ? [attr, ''] : [attr.slice(0, eq), attr.slice(eq + 1)];
}

function parseRuntimes(value: string, at: (m: string) => DocError): Runtime[] {
  const names = value.split(',').filter(Boolean);
  for (const name of names) {
    if (!(RUNTIMES as readonly string[]).includes(name)) throw at(`unknown runtime "${name}": use ${RUNTIMES.join(', ')}`);
  }
  if (names.length === 0) throw at(`runtime= names no runtime: use runtime=${RUNTIMES.join(',')}`);
  return names as Runtime[];
}

function positive(key: string, value: string, at: (m: string) => DocError): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw at(`${key}=${value} is not a positive whole number`);
  return n;
}
