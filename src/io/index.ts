export { encodeSafetensors, decodeSafetensors, readSafetensorsHeader, saveSafetensors, loadSafetensors, saveSafetensorsFile, loadSafetensorsFile, type StateDictLike, type SafetensorsDType, type SafetensorsEntry, type SafetensorsTensor } from './safetensors.js';
export { encodeCheckpoint, decodeCheckpoint, saveCheckpoint, loadCheckpoint, type CheckpointParts, type Stateful } from './checkpoint.js';
export { writeFileAtomic, readFileBytes } from './files.js';
export { crc32 } from './crc32.js';
