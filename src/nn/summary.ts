import { noGrad } from '../autograd/index.js';
import type { DType } from '../kernels/types.js';
import { Rng } from '../random.js';
import { Tensor, formatShape, inspectSymbol, randn } from '../tensor/index.js';
import { checkDtype, checkOptions } from './check.js';
import { Module, type HookHandle } from './module.js';

/** One module in a summary. */
export interface SummaryRow {
  /** Dotted name in the model ('' for the model itself), as in namedModules() and state-dict keys. */
  readonly name: string;
  /** Its name in its parent ('' for the model). */
  readonly local: string;
  /** The module's class name. */
  readonly type: string;
  /** Nesting depth (0 for the model). */
  readonly depth: number;
  /** Shape of the output of the module's last forward in the summary run; null if it did not run. */
  readonly outputShape: readonly number[] | null;
  /** How many times its forward ran (a module shared over time steps runs more than once). */
  readonly calls: number;
  /** Elements of the module's own trainable parameters (not its children's). */
  readonly trainableParams: number;
  /** Elements of its own non-trainable state: parameters with requiresGrad off and floating-point buffers (running statistics). */
  readonly nonTrainableParams: number;
}

export interface SummaryOptions {
  /** dtype of the generated input. Default: the dtype of the model's first parameter or buffer (float32 without any). */
  dtype?: DType;
  /** Rows deeper than this are left out of the table (they still count in the totals). Default: all. */
  depth?: number;
}

const group = (n: number) => n.toLocaleString('en-US');

/** What nn.summary returns: the rows, the totals, and the table as `toString()`. */
export class ModelSummary {
  constructor(
    readonly rows: readonly SummaryRow[],
    readonly inputShapes: readonly (readonly number[])[],
    readonly outputShape: readonly number[],
    /** Elements of all trainable parameters (each shared tensor once). */
    readonly trainableParams: number,
    /** Elements of all frozen parameters and floating-point buffers (running statistics). */
    readonly nonTrainableParams: number,
    private readonly maxDepth: number,
  ) {}

  /** trainableParams + nonTrainableParams. */
  get totalParams(): number {
    return this.trainableParams + this.nonTrainableParams;
  }

  /** The table: one row per module (name, class, output shape, parameter count), then the totals. */
  toString(): string {
    const rows = this.rows.filter((r) => r.depth <= this.maxDepth);
    const cells = rows.map((r) => [
      `${'  '.repeat(r.depth)}${r.depth ? `${r.local}: ` : ''}${r.type}`,
      r.outputShape ? `${formatShape(r.outputShape)}${r.calls > 1 ? ` ×${r.calls}` : ''}` : '--',
      r.trainableParams + r.nonTrainableParams ? group(r.trainableParams + r.nonTrainableParams) : '--',
    ]);
    const head = ['Layer (type)', 'Output shape', 'Param #'];
    const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) => `${c[0].padEnd(w[0])}   ${c[1].padEnd(w[1])}   ${c[2].padStart(w[2])}`.trimEnd();
    const rule = '─'.repeat(w[0] + w[1] + w[2] + 6);
    return [
      `Input shape: ${this.inputShapes.map(formatShape).join(', ')}`,
      rule, line(head), rule, ...cells.map(line), rule,
      `Total params: ${group(this.totalParams)}`,
      `Trainable params: ${group(this.trainableParams)}`,
      `Non-trainable params: ${group(this.nonTrainableParams)}`,
    ].join('\n');
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}

/** Trainable and non-trainable element counts of a module's own tensors. */
function ownCounts(m: Module, seen: Set<Tensor>): { trainable: number; frozen: number } {
  let trainable = 0, frozen = 0;
  for (const [n, p] of m.namedParameters()) {
    if (n.includes('.') || seen.has(p)) continue; // own parameters only; a shared one counts once
    seen.add(p);
    if (p.requiresGrad) trainable += p.size; else frozen += p.size;
  }
  const integers = m.integerBufferNames();
  for (const [n, b] of m.namedBuffers()) {
    if (n.includes('.') || seen.has(b) || integers.has(n)) continue; // counters (num_batches_tracked) are not parameters
    seen.add(b);
    frozen += b.size;
  }
  return { trainable, frozen };
}

/**
 * A table of the model's layers, their output shapes and parameter counts, with totals (Keras's
 * `model.summary()`, torchinfo's `summary`). The model runs one forward on a generated input of `inputShape`
 * (or several inputs: an array of shapes), in evaluation mode without gradients, drawn from a private
 * generator: the model's parameters, running statistics, modes and the global random state are unchanged.
 *
 * Counts follow Keras: trainable parameters, and non-trainable ones — frozen parameters and floating-point
 * buffers such as BatchNorm's running mean and variance (the num_batches_tracked counter is not counted).
 * Each row counts the module's own tensors, not its children's ('--' for none).
 *
 * Example:
 * ```ts
 * const model = new nn.Sequential(new nn.Linear(784, 100, { bias: false }), new nn.BatchNorm1d(100), new nn.Sigmoid(), new nn.Linear(100, 10));
 * const s = nn.summary(model, [60, 784]);
 * s.trainableParams;                   // => 79610
 * s.nonTrainableParams;                // => 200
 * s.rows[2].outputShape;               // => [60, 100]
 * String(s).split('\n')[0];           // => "Input shape: [60, 784]"
 * ```
 */
export function summary(model: Module, inputShape: readonly number[] | readonly (readonly number[])[], options: SummaryOptions = {}): ModelSummary {
  const what = 'summary';
  if (!(model instanceof Module)) throw new Error(`${what}: expected a Module, got ${model === null ? 'null' : typeof model}`);
  checkOptions(what, options, ['dtype', 'depth']);
  const shapes = (Array.isArray(inputShape) && inputShape.length > 0 && inputShape.every((s) => Array.isArray(s)) ? inputShape : [inputShape]) as (readonly number[])[];
  for (const s of shapes)
    if (!Array.isArray(s) || s.some((d) => !Number.isInteger(d) || d < 1))
      throw new Error(`${what}: inputShape must be a shape (an array of positive integers, e.g. [60, 784]) or an array of shapes, got ${JSON.stringify(inputShape)}`);
  const integers = model.integerBufferNames();
  const state = model.parameters()[0] ?? [...model.namedBuffers()].find(([n]) => !integers.has(n))?.[1];
  const dtype = checkDtype(what, options.dtype ?? state?.dtype ?? 'float32');
  const maxDepth = options.depth ?? Infinity;
  if (!(maxDepth >= 0)) throw new Error(`${what}: depth must be ≥ 0, got ${options.depth}`);

  // [dotted name, local name, depth, module], parents before children
  const modules: [string, string, number, Module][] = [];
  const walk = (m: Module, name: string, local: string, depth: number): void => {
    modules.push([name, local, depth, m]);
    for (const [n, c] of m.namedChildren()) walk(c, name ? `${name}.${n}` : n, n, depth + 1);
  };
  walk(model, '', '', 0);
  const record = new Map<Module, { shape: readonly number[] | null; calls: number }>();
  const modes = modules.map(([, , , m]) => m.training);
  const ownForward = modules.map(([, , , m]) => Object.prototype.hasOwnProperty.call(m, 'forward'));
  const finalStates = modules.map(([, , , m]) => (m as unknown as { finalState?: unknown }).finalState);
  const handles: HookHandle[] = [];
  let output: Tensor;
  try {
    for (const [, , , m] of modules) {
      if (record.has(m)) continue;
      record.set(m, { shape: null, calls: 0 });
      handles.push(m.registerForwardHook((mod, _inputs, y) => {
        const r = record.get(mod)!;
        r.shape = y instanceof Tensor ? y.shape : null;
        r.calls++;
      }));
    }
    model.eval();
    const rng = new Rng(0);
    const inputs = shapes.map((s) => randn([...s], { dtype, rng }));
    try {
      output = noGrad(() => model.forward(...inputs));
    } catch (e) {
      throw new Error(`${what}: the model's forward failed on input ${shapes.map(formatShape).join(', ')} (${dtype}): ${(e as Error).message}`);
    }
  } finally {
    for (const h of handles) h.remove();
    modules.forEach(([, , , m], i) => {
      m.training = modes[i];
      if (!ownForward[i]) delete (m as unknown as { forward?: unknown }).forward;
      if ('finalState' in m) (m as unknown as { finalState: unknown }).finalState = finalStates[i];
    });
  }
  const seen = new Set<Tensor>();
  const rows: SummaryRow[] = modules.map(([name, local, depth, m]) => {
    const { trainable, frozen } = ownCounts(m, seen);
    const r = record.get(m)!;
    return { name, local, type: m.constructor.name, depth, outputShape: r.shape, calls: r.calls, trainableParams: trainable, nonTrainableParams: frozen };
  });
  const trainable = rows.reduce((s, r) => s + r.trainableParams, 0);
  const frozen = rows.reduce((s, r) => s + r.nonTrainableParams, 0);
  if (!(output! instanceof Tensor)) throw new Error(`${what}: the model's forward returned ${typeof output!}, not a Tensor`);
  return new ModelSummary(rows, shapes, output!.shape, trainable, frozen, maxDepth);
}
