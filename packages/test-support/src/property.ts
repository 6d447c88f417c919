// Shared fast-check settings for the property tests: a fixed seed by default so that
// every run checks the same cases, FC_RUNS / FC_SEED to widen or vary the search.
// The test passes its environment variables in, so this module names no Node global.

export interface PropertySettings {
  seed: number;
  numRuns: number;
}

/** `scale` multiplies the run count for cheap properties or divides it (< 1) for costly ones. */
export function propertySettings(env: Record<string, string | undefined>, scale = 1): PropertySettings {
  const runs = Number(env['FC_RUNS'] ?? 100);
  const seed = Number(env['FC_SEED'] ?? 42);
  return {
    seed: Number.isFinite(seed) ? seed : 42,
    numRuns: Math.max(1, Math.round((Number.isFinite(runs) ? runs : 100) * scale)),
  };
}
