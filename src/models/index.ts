export { mlp, type MlpOptions, type Activation, type HiddenNorm } from './mlp.js';
