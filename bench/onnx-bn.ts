/**
 * A one-node ONNX model (BatchNormalization, opset 15, inference form) for the onnxruntime peer, so it needs
 * no Python: an nn.BatchNorm2d / BatchNorm1d with the given statistics, written by `onnx.exportOnnx`
 * (protobufjs with the official onnx.proto). Input 'x', output 'y'; the batch axis is symbolic.
 */
import { nn, onnx } from '../src/index.js';

/**
 * y = (x − mean)/√(var + eps)·scale + bias per channel of x [N, C, ...] — the ONNX model bytes.
 * Graph input: x; initializers: the BN's weight (scale), bias, running_mean, running_var (each [C]).
 */
export function bnInferenceModel(shape: readonly number[], p: { scale: Float32Array; bias: Float32Array; mean: Float32Array; variance: Float32Array }, eps = 1e-5): Uint8Array {
  const C = shape[1];
  const bn = shape.length === 4 ? new nn.BatchNorm2d(C, { eps }) : new nn.BatchNorm1d(C, { eps });
  bn.loadStateDict({ weight: p.scale, bias: p.bias, running_mean: p.mean, running_var: p.variance, num_batches_tracked: [0] });
  return onnx.exportOnnx(bn, { inputShape: shape, opset: 15, inputName: 'x', outputName: 'y' });
}
