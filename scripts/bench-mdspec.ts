// `npm run bench:mdspec`: what a block costs through mdspec over running the same file directly
// with the same runtime, and what running docs in parallel gains. Prints a table, writes it into
// the README between the bench:mdspec markers. Figures are medians of repeats; nothing here asserts.
import { fs, path } from 'zx';
import { commandArgs, detect, type Installed } from './mdspec/runtimes.ts';
import { run } from './mdspec/exec.ts';

const root = path.resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const BLOCKS = quick ? 8 : 20;
const REPEATS = quick ? 3 : 7;
const work = path.join(root, 'bench', 'mdspec-tmp');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const block = (i: number) => `\`\`\`ts\nconst n: number = ${i};\nconsole.log(\`block \${n}\`);\n\`\`\`\n\n\`\`\`output\nblock ${i}\n\`\`\`\n`;

async function time(bin: string, args: string[], cwd: string): Promise<number> {
  const r = await run(bin, args, { cwd, timeout: 300_000 });
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} failed: ${r.stderr.trim().split('\n').pop()}`);
  return r.ms;
}

await fs.rm(work, { recursive: true, force: true });
await fs.mkdirp(work);
const doc = (name: string, n: number) => {
  const file = path.join(work, `${name}.md`);
  fs.writeFileSync(file, `# Overhead\n\n${Array.from({ length: n }, (_, i) => block(i)).join('\n')}`);
  return file;
};
const one = doc('one', 1), many = doc('many', BLOCKS), twin = doc('twin', BLOCKS);
const direct = path.join(work, 'direct.ts');
fs.writeFileSync(direct, 'const n: number = 0;\nconsole.log(`block ${n}`);\n');

const runtimes = (await detect(['node', 'node24', 'node26', 'deno', 'bun'], root)).filter((r): r is Installed => 'bin' in r);
const [host] = runtimes;
const mdspec = (rt: string, jobs: number, ...docs: string[]) =>
  time(host.bin, ['--import', 'tsx', path.join(root, 'scripts', 'mdspec.ts'), '--no-typecheck', '--runtime', rt, '-j', String(jobs), ...docs], root);

const rows: string[][] = [];
try {
  for (const rt of runtimes) {
    const d: number[] = [], first: number[] = [], all: number[] = [], serial: number[] = [], parallel: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      let sum = 0;
      for (let b = 0; b < BLOCKS; b++) sum += await time(rt.bin, commandArgs(rt, direct), work);
      d.push(sum / BLOCKS);
      first.push(await mdspec(rt.name, 1, one));
      all.push(await mdspec(rt.name, 1, many));
      serial.push(await mdspec(rt.name, 1, many, twin));
      parallel.push(await mdspec(rt.name, 2, many, twin));
    }
    // Past the first block, each block adds (all - first) / (BLOCKS - 1): mdspec's start-up cancels out.
    const perBlock = (median(all) - median(first)) / (BLOCKS - 1);
    const startup = median(first) - median(d);
    rows.push([
      `${rt.name} ${rt.version}`, `${median(d).toFixed(1)} ms`, `${perBlock.toFixed(1)} ms`,
      `${((perBlock / median(d) - 1) * 100).toFixed(1)}%`, `${startup.toFixed(0)} ms`,
      `${(median(serial) / median(parallel)).toFixed(2)}×`,
    ]);
    console.error(`${rt.name}: done`);
  }
} finally {
  await fs.rm(work, { recursive: true, force: true });
}

const header = ['runtime', 'file run directly', 'block through mdspec', 'overhead per block', 'mdspec start-up, once a run', `2 docs, -j 2 vs -j 1`];
const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
const note = `Measured ${new Date().toISOString().slice(0, 10)} on ${(await import('node:os')).cpus().length} cores, ${BLOCKS} blocks a doc, median of ${REPEATS}.`;
console.log(table + '\n\n' + note);

const readme = path.join(root, 'README.md');
const text = fs.readFileSync(readme, 'utf8');
const marked = /<!-- bench:mdspec -->[\s\S]*<!-- \/bench:mdspec -->/;
if (!quick && marked.test(text)) {
  fs.writeFileSync(readme, text.replace(marked, `<!-- bench:mdspec -->\n${table}\n\n${note}\n<!-- /bench:mdspec -->`));
  console.error('README.md updated');
}
