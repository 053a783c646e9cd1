const seen = new Set<string>();

/** Print a warning the first time `key` is seen in this process (console.warn works in Node and browsers). */
export function warnOnce(key: string, message: string): void {
  if (seen.has(key)) return;
  seen.add(key);
  console.warn(`normlab: ${message}`);
}

/** Forget which warnings were shown (for tests). */
export function resetWarnings(): void {
  seen.clear();
}
