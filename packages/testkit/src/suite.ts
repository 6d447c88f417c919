// Reads what wstest leaves in its outdir: index.json and one JSON report per case.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { isOutcome, type CaseResult, type Outcome } from './results.js';

export interface SuiteOutput {
  agent: string;
  cases: CaseResult[];
  /** From the User-Agent / Server header the suite sent, e.g. "0.8.2-0.10.9"; undefined if not found. */
  suiteVersion: string | undefined;
}

/**
 * wstest writes index.json only after the last case, and exits 0 even when stopped by a signal, so a
 * missing index.json is the one reliable sign that a run did not finish.
 */
export function readSuiteOutput(outdir: string): SuiteOutput {
  const indexPath = join(outdir, 'index.json');
  if (!existsSync(indexPath)) {
    throw new Error(`${indexPath} is missing: the suite did not finish (see wstest.log beside it)`);
  }
  const index = JSON.parse(readFileSync(indexPath, 'utf8')) as unknown;
  if (!isRecord(index)) throw new Error(`${indexPath}: expected an object of agents`);
  const agents = Object.keys(index);
  if (agents.length !== 1) throw new Error(`${indexPath}: expected one agent, found ${agents.length}`);
  const agent = agents[0]!;
  const entries = index[agent];
  if (!isRecord(entries)) throw new Error(`${indexPath}: agent ${agent} holds no cases`);
  let suiteVersion: string | undefined;
  const cases: CaseResult[] = [];
  for (const [id, entry] of Object.entries(entries)) {
    if (!isRecord(entry)) throw new Error(`${indexPath}: case ${id} is not an object`);
    const result: CaseResult = {
      id,
      behavior: outcome(entry.behavior, `${id} behavior`),
      behaviorClose: outcome(entry.behaviorClose, `${id} behaviorClose`),
      remoteCloseCode: typeof entry.remoteCloseCode === 'number' ? entry.remoteCloseCode : null,
      durationMs: typeof entry.duration === 'number' ? entry.duration : 0,
    };
    const detail =
      typeof entry.reportfile === 'string' ? readCaseReport(join(outdir, entry.reportfile)) : undefined;
    if (detail !== undefined) {
      for (const key of ['description', 'expectation', 'result', 'resultClose'] as const) {
        const value = detail[key];
        if (typeof value === 'string') result[key] = value;
      }
      suiteVersion ??= versionFrom(detail.httpRequest) ?? versionFrom(detail.httpResponse);
    }
    cases.push(result);
  }
  return { agent, cases, suiteVersion };
}

function readCaseReport(path: string): Record<string, unknown> | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  return isRecord(parsed) ? parsed : undefined;
}

function versionFrom(head: unknown): string | undefined {
  if (typeof head !== 'string') return undefined;
  return /AutobahnTestSuite\/([\w.-]+)/i.exec(head)?.[1];
}

function outcome(value: unknown, what: string): Outcome {
  if (!isOutcome(value))
    throw new Error(`index.json: ${what} is ${JSON.stringify(value)}, not a suite outcome`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
