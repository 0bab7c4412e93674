// Sums jest --json reports into one line: "N passed, N failed" (the last line printed).
//   node .ci/summary.mjs REPORT.json...
// A report that is missing or unreadable (its step failed before jest wrote it) counts as
// one failed suite; so does a suite that failed to run (numRuntimeErrorTestSuites) and a
// report that says success: false without any failure counted. Exit 1 when N failed > 0.
import { readFileSync } from 'node:fs';

// stdout carries the summary (console.log is reserved for the connector's lint rule).
const say = (line) => process.stdout.write(`${line}\n`);

let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    say(`${file}: no report (${error.code ?? error.message}); counted as 1 failed suite`);
    failed += 1;
    continue;
  }
  const p = report.numPassedTests ?? 0;
  const f = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
  const extra = report.success === false && f === 0 ? 1 : 0;
  say(
    `${file}: ${p} passed, ${report.numFailedTests ?? 0} failed, ${report.numPendingTests ?? 0} skipped, ` +
      `${report.numRuntimeErrorTestSuites ?? 0} suites failed to run${extra ? ', run unsuccessful' : ''}`,
  );
  for (const suite of report.testResults ?? []) {
    if (suite.status === 'failed') say(`  FAILED ${suite.name.replace(process.cwd() + '/', '')}`);
  }
  passed += p;
  failed += f + extra;
}
say(`${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;
