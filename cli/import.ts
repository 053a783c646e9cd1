/**
 * `normlab import <file.onnx>`: build a model from an ONNX file (PyTorch's exporter's or ours) and write its
 * state dict as safetensors; the summary lists the layers. An unsupported operator is an error listing all.
 */
import { resolve } from 'node:path';
import { io, noGrad, onnx, zeros } from '../src/index.js';

export interface ImportFlags {
  out?: string;
  json?: boolean;
}

export async function importCommand(input: string, f: ImportFlags): Promise<Record<string, unknown>> {
  const say = (s: string) => (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  const bytes = await io.readFileBytes(input);
  const model = onnx.importOnnx(bytes);
  const decoded = onnx.decodeModel(bytes);
  const graph = decoded.graph!;
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const dims = graph.input?.find((v) => !inits.has(v.name))?.type?.tensorType?.shape?.dim ?? [];
  const inputShape = dims.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0) || '?'));
  // With every axis but the batch known, run two samples through to learn the output shape.
  let outputShape: (number | string)[] | null = null;
  const rest = inputShape.slice(1);
  if (rest.every((d) => typeof d === 'number')) {
    const y = noGrad(() => model.forward(zeros([2, ...(rest as number[])])));
    outputShape = [inputShape[0] ?? 'N', ...y.shape.slice(1)];
  }
  const layers = [...model.namedChildren()].map(([name, m]) => ({
    name, type: m.constructor.name,
    parameters: Object.fromEntries([...m.namedParameters()].map(([k, t]) => [k, t.shape])),
  }));
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  const out = resolve(f.out ?? `${input.replace(/\.onnx$/i, '')}-onnx.safetensors`);
  await io.saveSafetensorsFile(out, model);
  const opset = Number((decoded.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  say(`normlab import: ${resolve(input)} (${decoded.producerName || 'unknown producer'}, opset ${opset}): ${layers.map((l) => l.type).join(' → ')}; ${parameters} parameters → ${out}`);
  return {
    command: 'import', input: resolve(input), producer: decoded.producerName ?? '', opset, layers, parameters,
    inputShape, outputShape, out,
  };
}
