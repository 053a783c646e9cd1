export { exportOnnx, MIN_OPSET, MAX_OPSET, type ExportOptions } from './export.js';
export { importOnnx, SUPPORTED_OPS } from './import.js';
export { Reshape } from './reshape.js';
export { decodeModel, encodeModel, MAX_NESTING, type ModelMsg } from './proto.js';
