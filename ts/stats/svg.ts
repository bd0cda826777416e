// Charts as SVG text, shared by the HTML report (run here) and the live status page (the
// same functions' source is inlined into the page and run by the browser): so each
// function is self-contained, uses no imports and escapes every label it prints.
//
// Interface: svgLines(xs, series, opts) -> a line chart of named series over time;
// svgBars(labels, values, opts) -> a horizontal bar chart. Both return '<svg ...>...</svg>'.

export interface LineSeries {
  readonly name: string;
  readonly color: string;
  readonly values: readonly number[];
}

/** A line chart: xs are ms since the epoch, one polyline per series, a legend, y ticks. */
export function svgLines(xs: readonly number[], series: readonly LineSeries[], opts: { title: string; width?: number; height?: number }): string {
  const esc = (s: string) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const W = opts.width ?? 640, H = opts.height ?? 220, L = 48, R = 12, T = 28, B = 28;
  let top = 0;
  for (const s of series) for (const v of s.values) top = Math.max(top, v);
  top = top <= 0 ? 1 : top;
  const x0 = xs[0] ?? 0, span = Math.max(1, (xs[xs.length - 1] ?? 0) - x0);
  const px = (t: number) => L + ((t - x0) / span) * (W - L - R);
  const py = (v: number) => H - B - (v / top) * (H - T - B);
  const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);
  let out = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(opts.title)}">`;
  out += `<text x="${L}" y="16" font-size="13" font-weight="bold">${esc(opts.title)}</text>`;
  for (const f of [0, 0.5, 1]) {
    out += `<line x1="${L}" x2="${W - R}" y1="${py(top * f)}" y2="${py(top * f)}" stroke="#ddd"/>`;
    out += `<text x="${L - 4}" y="${py(top * f) + 4}" font-size="10" text-anchor="end">${esc(String(Math.round(top * f * 10) / 10))}</text>`;
  }
  if (xs.length > 0) {
    out += `<text x="${L}" y="${H - 8}" font-size="10">${esc(hhmm(x0))}</text>`;
    out += `<text x="${W - R}" y="${H - 8}" font-size="10" text-anchor="end">${esc(hhmm(x0 + span))}</text>`;
  }
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => `${px(xs[i] ?? x0).toFixed(1)},${py(v).toFixed(1)}`).join(' ');
    out += `<polyline fill="none" stroke="${esc(s.color)}" stroke-width="2" points="${pts}"/>`;
    // A lone point draws no line: mark it.
    if (s.values.length === 1) out += `<circle cx="${px(xs[0] ?? x0).toFixed(1)}" cy="${py(s.values[0] ?? 0).toFixed(1)}" r="3" fill="${esc(s.color)}"/>`;
    out += `<rect x="${W - R - 110}" y="${6 + k * 14}" width="10" height="10" fill="${esc(s.color)}"/>`;
    out += `<text x="${W - R - 96}" y="${15 + k * 14}" font-size="11">${esc(s.name)}</text>`;
  });
  return out + '</svg>';
}

/** A horizontal bar chart: one labelled bar per value, its figure at the bar's end. */
export function svgBars(labels: readonly string[], values: readonly number[], opts: { title: string; color?: string; width?: number }): string {
  const esc = (s: string) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const W = opts.width ?? 640, row = 20, T = 28, L = 190;
  const H = T + Math.max(1, values.length) * row + 8;
  const top = Math.max(1, ...values);
  let out = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(opts.title)}">`;
  out += `<text x="4" y="16" font-size="13" font-weight="bold">${esc(opts.title)}</text>`;
  values.forEach((v, i) => {
    const y = T + i * row;
    const w = (v / top) * (W - L - 70);
    const label = String(labels[i] ?? '');
    out += `<text x="${L - 6}" y="${y + 13}" font-size="11" text-anchor="end">${esc(label.length > 30 ? label.slice(0, 29) + '…' : label)}</text>`;
    out += `<rect x="${L}" y="${y + 2}" width="${w.toFixed(1)}" height="${row - 6}" fill="${esc(opts.color ?? '#4a7bd0')}"/>`;
    out += `<text x="${(L + w + 4).toFixed(1)}" y="${y + 13}" font-size="11">${esc(String(v))}</text>`;
  });
  if (values.length === 0) out += `<text x="${L}" y="${T + 13}" font-size="11">none</text>`;
  return out + '</svg>';
}
