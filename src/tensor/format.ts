/**
 * Printing tensors, as PyTorch prints them: the values with one number format for the whole tensor,
 * rows aligned, large tensors abbreviated to their first and last entries along each axis.
 */
import { stridesOf } from '../kernels/shape.js';

/** Printing settings (PyTorch's set_printoptions defaults). */
export interface PrintOptions {
  /** Tensors with more elements than this are abbreviated. Default 1000. */
  threshold: number;
  /** Entries kept at each end of an axis when abbreviated. Default 3. */
  edgeItems: number;
  /** Digits after the decimal point. Default 4. */
  precision: number;
  /** Characters per line before a row wraps. Default 80. */
  lineWidth: number;
}

export const printOptions: PrintOptions = { threshold: 1000, edgeItems: 3, precision: 4, lineWidth: 80 };

/** Change how tensors print (PyTorch's torch.set_printoptions); unspecified fields keep their value. */
export function setPrintOptions(options: Partial<PrintOptions>): void {
  for (const [k, v] of Object.entries(options)) {
    if (!(k in printOptions)) throw new Error(`setPrintOptions: unknown option '${k}'; valid options: ${Object.keys(printOptions).join(', ')}`);
    if (!Number.isInteger(v) || (v as number) < (k === 'edgeItems' || k === 'precision' ? 0 : 1))
      throw new Error(`setPrintOptions: ${k} must be a ${k === 'edgeItems' || k === 'precision' ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
    printOptions[k as keyof PrintOptions] = v as number;
  }
}

/** Indices shown along an axis of length n (null marks the "..." gap). */
function shownIndices(n: number, summarize: boolean, edge: number): (number | null)[] {
  if (!summarize || n <= 2 * edge) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: edge }, (_, i) => i), null, ...Array.from({ length: edge }, (_, i) => n - edge + i)];
}

/** One number format for all shown values: integers, fixed or scientific, as PyTorch chooses. */
function formatter(values: number[], precision: number): (v: number) => string {
  const finite = values.filter(Number.isFinite);
  const special = (v: number) => (Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity');
  if (!finite.length) return special;
  const abs = finite.map(Math.abs), nonzero = abs.filter((a) => a > 0);
  const max = Math.max(...abs), min = nonzero.length ? Math.min(...nonzero) : 0;
  const integers = finite.every(Number.isInteger);
  let fmt: (v: number) => string;
  if (integers && max < 1e8) fmt = (v) => (Object.is(v, -0) ? '-0' : String(v));
  else if ((nonzero.length && max / min > 1000) || max >= 1e8 || (min > 0 && min < 1e-4)) fmt = (v) => v.toExponential(precision);
  else fmt = (v) => v.toFixed(precision);
  const width = Math.max(...values.map((v) => (Number.isFinite(v) ? fmt(v) : special(v)).length));
  return (v) => (Number.isFinite(v) ? fmt(v) : special(v)).padStart(width);
}

/**
 * `values` (row-major, of `shape`) as nested brackets; `indent` is the column of the first '['.
 * Abbreviated past `printOptions.threshold` elements.
 */
export function formatValues(values: ArrayLike<number>, shape: readonly number[], indent: number): string {
  const { threshold, edgeItems, precision, lineWidth } = printOptions;
  const size = values.length;
  const summarize = size > threshold;
  const strides = stridesOf(shape);
  // the shown values decide the format
  const shown: number[] = [];
  const collect = (d: number, off: number): void => {
    if (d === shape.length) { shown.push(values[off]); return; }
    for (const i of shownIndices(shape[d], summarize, edgeItems)) if (i !== null) collect(d + 1, off + i * strides[d]);
  };
  collect(0, 0);
  const f = formatter(shown, precision);
  if (shape.length === 0) return f(values[0]).trim();
  const build = (d: number, off: number, col: number): string => {
    const idx = shownIndices(shape[d], summarize, edgeItems);
    if (d === shape.length - 1) {
      const items = idx.map((i) => (i === null ? '...' : f(values[off + i])));
      const width = Math.max(1, ...items.map((s) => s.length)) + 2;
      const perLine = Math.max(1, Math.floor((lineWidth - col - 1) / width));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(col + 1)}`)}]`;
    }
    const parts = idx.map((i) => (i === null ? '...' : build(d + 1, off + i * strides[d], col + 1)));
    const sep = `,${'\n'.repeat(shape.length - d - 1)}${' '.repeat(col + 1)}`;
    return `[${parts.join(sep)}]`;
  };
  return build(0, 0, indent);
}
