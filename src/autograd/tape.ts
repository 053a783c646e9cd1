import type { Arr, Node, Variable } from './types.js';
import { ops, type OpAttrs, type OpName } from './ops/index.js';
import { binaryArr } from './ops/util.js';
import { getBackend } from '../kernels/index.js';

let gradEnabled = true;

/** Free the op-private arrays a node saved (its direct FloatArray fields); the rest is left to the GC. */
function releaseSaved(saved: unknown): void {
  if (!saved || typeof saved !== 'object') return;
  const be = getBackend();
  for (const v of Object.values(saved)) if (v instanceof Float32Array || v instanceof Float64Array) be.free(v);
}

/** Whether ops are being recorded for backward. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording ops (like torch.no_grad()): results carry no graph and need no grad. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Apply op `name` to inputs. Returns the output value and, when recording and some input requires a
 * gradient, the node that the tape keeps for backward.
 */
export function apply<P extends OpName>(name: P, inputs: readonly (Variable | null)[], attrs: OpAttrs[P]): { out: Arr; node: Node | null } {
  const def = ops[name];
  const { out, saved } = def.forward(inputs, attrs);
  const needs = inputs.map((v) => v !== null && v.requiresGrad);
  if (!gradEnabled || !needs.some(Boolean)) {
    releaseSaved(saved); // nothing will run backward: what forward saved for it can go now
    return { out, node: null };
  }
  return { out, node: { op: name, inputs, attrs, needs, out, saved, released: false } };
}

/**
 * Back-propagate from `root` with upstream gradient `grad` (a tensor of root's shape). Nodes are visited in
 * reverse topological order; gradients of a value used several times are summed; leaves that require grad
 * accumulate into .grad. Saved values are freed afterwards unless `retainGraph`.
 */
export function backward(root: Variable, grad: Arr, retainGraph = false): void {
  if (!root.requiresGrad) throw new Error('backward: the tensor does not require grad and has no graph (was it made under noGrad, or from inputs without requiresGrad?)');
  const order: Variable[] = [];
  const seen = new Set<Variable>();
  // Iterative DFS post-order (deep graphs would overflow a recursive one).
  const stack: [Variable, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [v, i] = top;
    const ins = v.node ? v.node.inputs : [];
    if (i < ins.length) {
      top[1]++;
      const u = ins[i];
      if (u && u.requiresGrad && !seen.has(u)) { seen.add(u); stack.push([u, 0]); }
    } else {
      stack.pop();
      order.push(v);
    }
  }
  const grads = new Map<Variable, Arr>([[root, grad]]);
  const be = getBackend();
  const handedOver = new Set<unknown>();
  // A leaf's first gradient may take over the array the tape computed instead of copying it (a pass less
  // over memory), when nothing else can see that array: a whole block of the backend, not the caller's
  // upstream gradient, not pending for another variable and not already given to another leaf.
  const canHandOver = (d: Arr) => be.ownsWhole(d.data) && d.data !== grad.data && !handedOver.has(d.data)
    && ![...grads.values()].some((o) => o.data === d.data);
  for (let j = order.length - 1; j >= 0; j--) {
    const v = order[j];
    const g = grads.get(v);
    if (!g) continue;
    grads.delete(v);
    const node = v.node;
    if (!node) {
      const own = canHandOver(g);
      if (own) handedOver.add(g.data);
      v.accumulateGrad(g, own);
      continue;
    }
    if (node.released)
      throw new Error(`backward: trying to go through the graph of '${node.op}' a second time; its saved values were freed (pass retainGraph: true the first time)`);
    const def = ops[node.op as OpName] as { backward: (ctx: unknown, g: Arr) => (Arr | null)[] };
    const gi = def.backward({ inputs: node.inputs, out: node.out, saved: node.saved, attrs: node.attrs, needs: node.needs }, g);
    if (!retainGraph) { releaseSaved(node.saved); node.saved = null; node.released = true; }
    node.inputs.forEach((u, i) => {
      const d = gi[i];
      if (!u || !node.needs[i] || !d) return;
      const prev = grads.get(u);
      if (!prev) grads.set(u, d);
      else grads.set(u, binaryArr('add', prev, d)); // never in place: prev may alias an upstream gradient
    });
  }
}
