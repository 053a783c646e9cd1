import { Arr, Node, isOwned, type OpDef, type Owned, type Variable } from './types.js';
import { ops, type OpAttrs, type OpName } from './ops/index.js';
import { binaryArr } from './ops/util.js';
import { Storage, ctx, setRecompute, trusted, type Producer, type ProducerInput, type Storage as StorageT } from '../memory/index.js';

let gradEnabled = true;

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

/** The Arrs an op handed to the tape with `owned` (saved itself or its fields; see Savable): the tape frees them. */
function savedArrs(saved: unknown): Owned[] {
  if (isOwned(saved)) return [saved];
  if (!saved || typeof saved !== 'object' || ArrayBuffer.isView(saved)) return []; // a typed array: the op's own host values
  const out: Owned[] = [];
  for (const k in saved) { const v = (saved as Record<string, unknown>)[k]; if (isOwned(v)) out.push(v); }
  return out;
}

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

/**
 * How `out` was computed, so the storage layer can evict it to a recipe: inputs by buffer and version, or a
 * snapshot for a small input that may change in place (γ, β); null when a large mutable input makes
 * recomputation impossible.
 */
function producerOf(op: string, attrs: unknown, inputs: readonly (Variable | null)[], outBytes: number): Producer | null {
  const ins: (ProducerInput | null)[] = [];
  for (const v of inputs) {
    if (!v) { ins.push(null); continue; }
    const s = v.storage, b = s.buffer;
    if (s.owner === 'persistent' || b.exposed) {
      if (b.bytes * 16 > outBytes) return null;
      ins.push({ buffer: b.mm.snapshot(b), version: 0, shape: v.shape, snapshot: true });
    } else ins.push({ buffer: b, version: b.version, shape: v.shape, snapshot: false });
  }
  return { op, attrs, inputs: ins };
}

/**
 * Apply op `name` to inputs: the one path from every op to the tape. Refuses inputs whose storage was freed,
 * runs the op's forward as library code, records a node when some input requires a gradient, and notes how a
 * large output was made (see producerOf). Returns the output, the node and the op's side results.
 */
export function apply<P extends OpName>(name: P, inputs: readonly (Variable | null)[], attrs: OpAttrs[P]): { out: Arr; node: Node | null; aux?: Record<string, Arr> } {
  return trusted(() => {
    for (const v of inputs)
      if (v && v.storage.freed)
        throw new Error(`${name}: a tensor of shape ${fmt(v.shape)} is used after its storage was freed (disposed, or made inside a scope() and not returned or kept)`);
    const def = ops[name] as unknown as OpDef<OpAttrs[P]>;
    const prevOp = ctx.op;
    ctx.op = name;
    let r: ReturnType<OpDef<OpAttrs[P]>['forward']>;
    try { r = def.forward(inputs.map((v) => v?.arr ?? null), attrs); } finally { ctx.op = prevOp; }
    const { out, saved, aux } = r;
    const buf = out.storage.buffer;
    if (buf.mm.device && buf.bytes >= buf.mm.recipeMinBytes && !inputs.some((v) => v?.storage === out.storage))
      buf.producer = producerOf(name, attrs, inputs, buf.bytes);
    const needs = inputs.map((v) => v !== null && v.requiresGrad);
    if (!gradEnabled || !needs.some(Boolean)) {
      for (const a of savedArrs(saved)) a.storage.free(); // nothing will run backward
      return { out, node: null, aux };
    }
    const node = new Node(name, inputs, attrs, needs, out, saved);
    for (const v of inputs) if (v) v.storage.refs++;
    out.storage.refs++;
    for (const a of savedArrs(saved)) a.storage.refs++;
    return { out, node, aux };
  });
}

/** Release what a node holds: its saved values, and its references to inputs and output. */
function release(node: Node): void {
  for (const a of savedArrs(node.saved)) { a.storage.refs--; a.storage.free(); }
  for (const v of node.inputs) v?.storage.unref();
  node.out.storage.unref();
  node.saved = null;
  node.released = true;
}

// A recipe runs its op again, as library code, and moves the fresh output block into the evicted buffer.
setRecompute((into, p) => {
  trusted(() => {
    const ins = p.inputs.map((i) => i && new Arr(new Storage(i.buffer, 'managed', false), i.shape));
    const r = (ops[p.op as OpName] as unknown as OpDef<unknown>).forward(ins, p.attrs);
    for (const a of savedArrs(r.saved)) a.storage.free();
    into.mm.transfer(r.out.storage.buffer, into);
  });
});

/**
 * Back-propagate from `root` with upstream gradient `grad` (of root's shape). Nodes are visited in reverse
 * topological order; gradients of a value used several times are summed; leaves that require grad
 * accumulate into .grad. Unless `retainGraph`, each node releases what it saved and its activations as soon as
 * backward has passed it; intermediate gradients are freed as soon as they are consumed.
 */
export function backward(root: Variable, grad: Arr, retainGraph = false): void {
  if (!root.requiresGrad) throw new Error('backward: the tensor does not require grad and has no graph (was it made under noGrad, or from inputs without requiresGrad?)');
  backwardPass(root, grad, retainGraph);
  for (const hook of [...backwardEndHooks]) hook();
}

const backwardEndHooks = new Set<() => void>();

/**
 * Call `hook` at the end of every backward pass, once every leaf has its gradient (PyTorch's
 * queue_callback; DistributedDataParallel averages gradients there). Returns a function that removes it.
 */
export function onBackwardEnd(hook: () => void): () => void {
  backwardEndHooks.add(hook);
  return () => { backwardEndHooks.delete(hook); };
}

function backwardPass(root: Variable, grad: Arr, retainGraph: boolean): void {
  trusted(() => {
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
    const grads = new Map<Variable, Arr>();
    const pending = new Map<StorageT, number>(); // storage → pending gradients using it
    const put = (v: Variable, a: Arr) => { grads.set(v, a); pending.set(a.storage, (pending.get(a.storage) ?? 0) + 1); };
    const take = (v: Variable) => { const a = grads.get(v)!; grads.delete(v); pending.set(a.storage, pending.get(a.storage)! - 1); return a; };
    // An intermediate gradient nobody else uses is dead once consumed (private storage: only the tape saw it).
    const consumed = (a: Arr) => { if (a.storage.owner === 'private' && !pending.get(a.storage)) a.storage.free(); };
    const handedOver = new Set<StorageT>();
    put(root, grad);
    for (let j = order.length - 1; j >= 0; j--) {
      const v = order[j];
      if (!grads.has(v)) continue;
      const g = take(v);
      const node = v.node;
      if (!node) {
        // A leaf's first gradient may take over the storage the tape computed instead of copying it, when
        // nothing else can see it: private to this backward, not pending for another variable, not already
        // given to another leaf.
        const own = g.storage.owner === 'private' && !pending.get(g.storage) && !handedOver.has(g.storage);
        v.accumulateGrad(g, own);
        if (own && g.storage.owner === 'persistent') handedOver.add(g.storage);
        else consumed(g);
        continue;
      }
      if (node.released)
        throw new Error(`backward: trying to go through the graph of '${node.op}' a second time; its saved values were freed (pass retainGraph: true the first time)`);
      const def = ops[node.op as OpName] as unknown as OpDef<unknown>;
      const gi = def.backward({ inputs: node.inputs.map((u) => u?.arr ?? null), out: node.out, saved: node.saved, attrs: node.attrs, needs: node.needs }, g);
      node.inputs.forEach((u, i) => {
        const d = gi[i];
        if (!u || !node.needs[i] || !d) return;
        if (!grads.has(u)) { put(u, d); return; }
        const prev = take(u);
        put(u, binaryArr('add', prev, d)); // never in place: prev may alias an upstream gradient
        consumed(prev);
        consumed(d);
      });
      consumed(g);
      if (!retainGraph) release(node);
    }
  });
}
