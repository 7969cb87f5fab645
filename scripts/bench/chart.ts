// The performance chart, drawn as SVG by the benchmark itself: one group of bars per figure, one
// bar per runtime, each the figure's time as a multiple of CPython's on a log scale.
export interface Bar { label: string; series: string; value: number }

const COLORS = ['#3b82f6', '#10b981', '#f59e0b', '#ef4444', '#8b5cf6'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export function chart(bars: Bar[]): string {
  const labels = [...new Set(bars.map((b) => b.label))];
  const series = [...new Set(bars.map((b) => b.series))];
  const values = bars.map((b) => b.value).filter((v) => v > 0);
  const lo = Math.min(0.01, ...values), hi = Math.max(10, ...values);
  const [minExp, maxExp] = [Math.floor(Math.log10(lo)), Math.ceil(Math.log10(hi))];
  const left = 330, width = 420, barH = 9, groupGap = 12, top = 40;
  const x = (v: number) => left + ((Math.log10(v) - minExp) / (maxExp - minExp)) * width;
  const groupH = series.length * barH + groupGap;
  const height = top + labels.length * groupH + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 40}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="16" font-weight="bold">mpkit's time ÷ CPython's (log scale; left of 1× is faster)</text>`,
  ];
  for (let e = minExp; e <= maxExp; e++) {
    const v = 10 ** e;
    out.push(`<line x1="${x(v)}" y1="${top - 8}" x2="${x(v)}" y2="${height - 25}" stroke="${e === 0 ? '#000' : '#ddd'}"/>`);
    out.push(`<text x="${x(v)}" y="${height - 10}" text-anchor="middle">${v}×</text>`);
  }
  labels.forEach((label, g) => {
    const y0 = top + g * groupH;
    out.push(`<text x="${left - 8}" y="${y0 + (series.length * barH) / 2 + 4}" text-anchor="end">${esc(label)}</text>`);
    series.forEach((s, i) => {
      const bar = bars.find((b) => b.label === label && b.series === s);
      if (!bar || bar.value <= 0) return;
      const from = x(Math.min(1, bar.value)), to = x(Math.max(1, bar.value));
      out.push(`<rect x="${from}" y="${y0 + i * barH}" width="${Math.max(1, to - from)}" height="${barH - 1}" fill="${COLORS[i % COLORS.length]}"><title>${esc(`${label}, ${s}: ${bar.value.toFixed(2)}×`)}</title></rect>`);
    });
  });
  series.forEach((s, i) => {
    out.push(`<rect x="${left + i * 90}" y="24" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/><text x="${left + i * 90 + 14}" y="33">${esc(s)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
