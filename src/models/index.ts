export { mlp, type MlpOptions, type Activation, type HiddenNorm } from './mlp.js';
export { cnn, type CnnOptions } from './cnn.js';
