export { scope, keep, memoryStats } from '../memory/index.js';
