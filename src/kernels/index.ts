import type { Backend } from './types.js';
import { jsBackend } from './js/index.js';

export * from './types.js';
export { jsBackend };

const backends = new Map<string, Backend>([['js', jsBackend]]);
let active: Backend = jsBackend;

/** The backend that allocates new tensors and runs their kernels. */
export function getBackend(): Backend {
  return active;
}

/** Select a registered backend by name ('js' is always there). */
export function setBackend(name: string): void {
  const b = backends.get(name);
  if (!b) throw new Error(`setBackend: unknown backend '${name}'; registered: ${[...backends.keys()].join(', ')}`);
  active = b;
}

export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}
