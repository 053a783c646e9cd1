/**
 * The ten claims of the note (../shared/CLAIMS.md, DESIGN.md "the checklist") as experiments, in order,
 * and how a run's config is made from the defaults and the command line's settings.
 */
import type { ClaimExperiment, SeededConfig } from './common.js';
import { claim1 } from './claim1.js';
import { claim2 } from './claim2.js';
import { claim3 } from './claim3.js';
import { claim4 } from './claim4.js';
import { claim5 } from './claim5.js';
import { claim6 } from './claim6.js';
import { claim7 } from './claim7.js';
import { claim8 } from './claim8.js';
import { claim9 } from './claim9.js';
import { claim10 } from './claim10.js';

export type AnyClaim = ClaimExperiment<SeededConfig, unknown>;

/** Claims 1–10 in CLAIMS.md's order. */
export const CLAIMS: readonly AnyClaim[] = [claim1, claim2, claim3, claim4, claim5, claim6, claim7, claim8, claim9, claim10] as unknown as AnyClaim[];

export function claimById(id: number): AnyClaim {
  const c = CLAIMS.find((x) => x.id === id);
  if (!c) throw new Error(`no claim ${id}; the claims are numbered 1–${CLAIMS.length}`);
  return c;
}

export interface ClaimSettings {
  /** The paper-sized run. */
  full?: boolean;
  /** The tiny run of the tests (seconds, not evidence). */
  tiny?: boolean;
  /** Seeds per experiment (overrides each claim's default). */
  seeds?: number;
}

/** The config of one claim's run: defaults, then `full` or `tiny` overrides, then the seed count. */
export function claimConfig(claim: AnyClaim, { full = false, tiny = false, seeds }: ClaimSettings = {}): SeededConfig {
  if (full && tiny) throw new Error('claimConfig: full and tiny cannot be combined');
  return { ...claim.defaults, ...(full ? claim.full : {}), ...(tiny ? claim.tiny : {}), ...(seeds !== undefined ? { seeds } : {}) };
}
