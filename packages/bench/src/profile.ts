// Reads a V8 .cpuprofile and lists the functions with the most self time.
import { readFileSync } from 'node:fs';
import type { Profiler } from 'node:inspector';
import path from 'node:path';

export interface HeavyFunction {
  name: string;
  location: string;
  micros: number;
  ms: number;
  /** Of the busy time. */
  share: number;
}

export interface Heaviest {
  totalMs: number;
  rows: HeavyFunction[];
}

function shortLocation(url: string, line: number): string {
  if (url === '') return '';
  let file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('/node_modules/');
  if (modules >= 0)
    file = file.slice(modules + '/node_modules/'.length).replace(/^\.pnpm\/[^/]+\/node_modules\//, '');
  else if (file.startsWith('/')) file = path.relative(process.cwd(), file);
  return `${file}:${line + 1}`;
}

/** Self time by function (name + location), heaviest first; '(idle)' is left out of the total. */
export function heaviestFunctions(profileFile: string, limit = 10): Heaviest {
  // What server.js wrote: Profiler.stop's profile, as JSON.
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as Profiler.Profile;
  const samples = profile.samples ?? [];
  const timeDeltas = profile.timeDeltas ?? [];
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  // Leave out the profiler's own work (Profiler.stop runs inside the window, under node:inspector).
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const underInspector = (id: number): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (byNode.get(at)?.callFrame.url === 'node:inspector') return true;
    }
    return false;
  };
  const selfByNode = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; attribute it to the sample it ends at.
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + (timeDeltas[i] ?? 0));
  }
  const byFunction = new Map<string, { name: string; location: string; micros: number }>();
  let total = 0;
  for (const [id, micros] of selfByNode) {
    const frame = byNode.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)' || underInspector(id)) continue;
    total += micros;
    const name = frame.functionName || '(anonymous)';
    const location = shortLocation(frame.url, frame.lineNumber);
    const key = `${name} ${location}`;
    const entry = byFunction.get(key) ?? { name, location, micros: 0 };
    entry.micros += micros;
    byFunction.set(key, entry);
  }
  const rows = [...byFunction.values()].sort((a, b) => b.micros - a.micros).slice(0, limit);
  return {
    totalMs: total / 1000,
    rows: rows.map((row) => ({ ...row, ms: row.micros / 1000, share: total > 0 ? row.micros / total : 0 })),
  };
}

export function formatHeaviest({ totalMs, rows }: Heaviest): string {
  const lines = [`busy time ${totalMs.toFixed(0)} ms (idle left out); self time:`];
  for (const row of rows) {
    lines.push(
      `  ${(row.share * 100).toFixed(1).padStart(5)} %  ${row.ms.toFixed(0).padStart(6)} ms  ${row.name}  ${row.location}`,
    );
  }
  return lines.join('\n');
}
