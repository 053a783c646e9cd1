/**
 * `normlab export --onnx <out.onnx> <model>`: a train checkpoint, a safetensors state dict (architecture from
 * the flags, as `fold` takes them) or a folded state dict written by `fold`, exported as an ONNX file (the
 * inference graph, dynamic batch axis). The file is read back with the importer and its outputs compared with
 * the model's on test digits, so a broken export is caught here.
 */
import { resolve } from 'node:path';
import { io, noGrad, onnx, tensor } from '../src/index.js';
import { FOLDED, describeArch, digits, foldedSkeleton, loadModel, type Arch, type ArchFlags } from './arch.js';

export interface ExportFlags extends ArchFlags {
  onnx: string;
  opset?: number;
  json?: boolean;
}

/** Rows of test digits the read-back check runs. */
const CHECK_ROWS = 64;

export async function exportCommand(input: string, f: ExportFlags): Promise<Record<string, unknown>> {
  const say = (s: string) => (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  const bytes = await io.readFileBytes(input);
  let loaded: { model: ReturnType<typeof foldedSkeleton>; arch: Arch; kind: string };
  let meta: Record<string, string> = {};
  try { meta = io.readSafetensorsHeader(bytes).metadata; } catch { /* loadModel says what is wrong */ }
  if (meta.format === FOLDED) {
    let arch: Arch;
    try { arch = JSON.parse(meta.arch) as Arch; } catch { throw new Error(`${input}: the folded file's metadata has no valid arch`); }
    const model = foldedSkeleton(arch);
    model.loadStateDict(io.loadSafetensors(bytes));
    loaded = { model, arch, kind: 'folded state dict' };
  } else {
    const { model, arch, kind } = await loadModel(input, f);
    loaded = { model, arch, kind };
  }
  const { model, arch, kind } = loaded;
  model.eval();
  const inputShape = [1, 784];
  const out = onnx.exportOnnx(model, { inputShape, ...(f.opset ? { opset: f.opset } : {}) });
  const path = resolve(f.onnx);
  await io.writeFileAtomic(path, out);

  // Read the file back and compare outputs on test digits.
  const { test } = await digits(0);
  const rows = Math.min(CHECK_ROWS, test.count);
  const x = tensor(test.x.subarray(0, rows * test.features), [rows, test.features], { dtype: arch.dtype });
  const back = onnx.importOnnx(out);
  const [a, b] = noGrad(() => [model.forward(x).toArray() as number[][], back.forward(x.dtype === 'float32' ? x : tensor(Float32Array.from(x.storage.copyToHost()), x.shape)).toArray() as number[][]]);
  let maxAbsDiff = 0;
  a.forEach((r, i) => r.forEach((v, j) => { maxAbsDiff = Math.max(maxAbsDiff, Math.abs(v - b[i][j])); }));

  const graph = onnx.decodeModel(out).graph!;
  const ops: Record<string, number> = {};
  for (const n of graph.node ?? []) ops[n.opType!] = (ops[n.opType!] ?? 0) + 1;
  const opset = Number(onnx.decodeModel(out).opsetImport![0].version);
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  say(`normlab export: ${describeArch(arch)} from a ${kind} → ${path} (${out.length} bytes, opset ${opset}: ${Object.entries(ops).map(([k, v]) => `${v} ${k}`).join(', ')}); read back: max |Δ| ${maxAbsDiff.toExponential(2)} on ${rows} test digits`);
  return {
    command: 'export', input: resolve(input), kind, arch, out: path, bytes: out.length, opset, ops, parameters,
    inputShape: ['N', ...inputShape.slice(1)], outputShape: ['N', a[0]?.length ?? 0], readBack: { rows, maxAbsDiff },
  };
}
