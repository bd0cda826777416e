// Postfix qshape's table: a header of bucket edges in minutes (T = total, the last column
// "N+" for older), the TOTAL row, then the top domains by total, most first.
//
// Interface: formatShape(shape, top) -> text; shapeJson(shape, top) -> plain data.

import { columns } from '../stats/format.js';
import type { Shape } from './census.js';

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** The top rows by total (ties by name). */
export function topRows(shape: Shape, top: number): [string, number[]][] {
  return [...shape.rows].sort((a, b) => sum(b[1]) - sum(a[1]) || (a[0] < b[0] ? -1 : 1)).slice(0, top);
}

/** The table, qshape's layout. */
export function formatShape(shape: Shape, top: number): string {
  const last = shape.edgesMin.at(-1) ?? 0;
  const head: (string | number)[] = ['', 'T', ...shape.edgesMin.map(String), `${last}+`];
  const row = (name: string, counts: number[]): (string | number)[] => [name, sum(counts), ...counts];
  const table = columns([head, row('TOTAL', shape.total), ...topRows(shape, top).map(([d, c]) => row(d || '(none)', c))], true);
  const todo = shape.todo > 0 ? `(${shape.todo} messages in todo/, not yet preprocessed, not counted)\n` : '';
  return `${table}\n${todo}`;
}

/** The table as data (`--json`). */
export function shapeJson(shape: Shape, top: number): object {
  return {
    edgesMin: shape.edgesMin, total: shape.total, todo: shape.todo, pending: shape.pending, oldest: shape.oldest ?? null,
    rows: topRows(shape, top).map(([domain, counts]) => ({ domain, total: sum(counts), counts })),
  };
}
