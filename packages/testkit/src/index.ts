// @rfc6455/testkit: run Autobahn|Testsuite against any WebSocket server or client, judge the results
// against an expected file, and fuzz a server with property-based traffic.
export { chooseBackend, noBackendMessage, SUITE_VERSION, DOCKER_IMAGE } from './backend.js';
export type { Backend, BackendChoice } from './backend.js';
export { run, USAGE, EXIT_PASS, EXIT_FAIL, EXIT_USAGE } from './cli.js';
export type { Io } from './cli.js';
export { runServer, runClient, expectedFrom, verdictLines } from './run.js';
export type { RunOptions, ServerRunOptions, ClientRunOptions, RunResult } from './run.js';
export {
  OUTCOMES,
  SUITE_INFORMATIONAL,
  SUMMARY_SCHEMA,
  compareCaseIds,
  findRegressions,
  renderMarkdown,
  requirementFor,
  selectedBy,
  summarise,
} from './results.js';
export type {
  CaseResult,
  Expected,
  Mode,
  Outcome,
  Regression,
  Requirement,
  RunInfo,
  SectionTime,
  Summary,
} from './results.js';
export { readSuiteOutput } from './suite.js';
export { TESTKIT_VERSION } from './version.js';
export { fuzz, exchange, judge, describeScenario, runFuzz } from './fuzz.js';
export type { FuzzOptions, FuzzResult, FuzzTarget, Observation } from './fuzz.js';
export { UsageError } from './errors.js';
export { stopAllNow } from './processes.js';
