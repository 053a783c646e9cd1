/**
 * Validation of optimizer and scheduler options: the shared checks of nn/check.ts, with messages that say
 * "option <name>" (every error names the class and the option at fault).
 */
import * as check from '../nn/check.js';

/** A plain options object (required here) with known keys; an unknown one gets a did-you-mean. */
export function checkOptionKeys(what: string, options: unknown, allowed: readonly string[]): void {
  if (options === undefined) throw new Error(`${what}: options must be an object, got undefined`);
  check.checkOptions(what, options, allowed);
}

/** A finite number with `ok(v)`; otherwise an error "<what>: option <name> must be <rule>, got <v>". */
export function checkNumber(what: string, name: string, v: unknown, rule: string, ok: (x: number) => boolean): number {
  return check.checkNumber(what, `option ${name}`, v, rule, ok);
}

export function nonNegative(what: string, name: string, v: unknown): number {
  return check.nonNegative(what, `option ${name}`, v);
}

export function positive(what: string, name: string, v: unknown): number {
  return check.positive(what, `option ${name}`, v);
}

/** An optional clipping threshold: undefined (off) or a number > 0. */
export function optionalPositive(what: string, name: string, v: unknown): number | undefined {
  return check.optionalPositive(what, `option ${name}`, v);
}

export function positiveInteger(what: string, name: string, v: unknown): number {
  return check.positiveInteger(what, `option ${name}`, v);
}

export function checkBoolean(what: string, name: string, v: unknown): boolean {
  return check.checkBoolean(what, `option ${name}`, v);
}
