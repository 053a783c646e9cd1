/** Validation of optimizer and scheduler options; every error names the class and the option at fault. */

/** Refuse anything but a plain options object with known keys (a snake_case PyTorch name gets a hint). */
export function checkOptionKeys(what: string, options: unknown, allowed: readonly string[]): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new Error(`${what}: options must be an object, got ${options === null ? 'null' : typeof options}`);
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (!unknown.length) return;
  // weight_decay, T_max, clipnorm (PyTorch / Keras spellings) → weightDecay, tMax, clipNorm
  const loose = (k: string) => k.replace(/_/g, '').toLowerCase();
  const hint = (k: string) => { const m = allowed.find((a) => loose(a) === loose(k)); return m ? ` (did you mean '${m}'?)` : ''; };
  throw new Error(`${what}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'${hint(k)}`).join(', ')}; valid options: ${allowed.join(', ')}`);
}

function show(v: unknown): string {
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v) ?? String(v);
}

/** A finite number with `ok(v)`; otherwise an error "<what>: option <name> must be <rule>, got <v>". */
export function checkNumber(what: string, name: string, v: unknown, rule: string, ok: (x: number) => boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`${what}: option ${name} must be ${rule}, got ${show(v)}`);
  return v;
}

export function nonNegative(what: string, name: string, v: unknown): number {
  return checkNumber(what, name, v, 'a finite number ≥ 0', (x) => x >= 0);
}

export function positive(what: string, name: string, v: unknown): number {
  return checkNumber(what, name, v, 'a finite number > 0', (x) => x > 0);
}

/** An optional clipping threshold: undefined (off) or a number > 0. */
export function optionalPositive(what: string, name: string, v: unknown): number | undefined {
  return v === undefined ? undefined : positive(what, name, v);
}

export function positiveInteger(what: string, name: string, v: unknown): number {
  return checkNumber(what, name, v, 'an integer ≥ 1', (x) => Number.isInteger(x) && x >= 1);
}

export function checkBoolean(what: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`${what}: option ${name} must be true or false, got ${show(v)}`);
  return v;
}
