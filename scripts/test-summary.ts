// The last lines of `npm test`: counts from vitest's JSON reports, then every suite that could
// not run, grouped by the missing component — skipped ones, and required ones that failed the
// run (test/harness/availability.ts writes one JSON line per verdict). Exits 1 when anything
// failed, a test file did not load, or a required component was missing, so that this line
// alone decides the run even if a vitest exit code were lost.
//   node scripts/test-summary.ts <availability.jsonl> <report.json>…
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** As much of vitest's JSON report as the summary reads. */
interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: { name: string; status: string; assertionResults: unknown[] }[];
}

interface Verdict {
  suite: string;
  component: string;
  reason: string;
  required: boolean;
}

export function summarize(
  verdictLines: string,
  reports: (Report | undefined)[],
): { lines: string[]; failed: boolean } {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  let unloaded = 0;
  for (const r of reports) {
    if (!r) {
      failed += 1;
      continue;
    }
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + r.numTodoTests;
    // A file that fails before any test runs (an import error, a required component missing)
    // counts no failed test; without this it would vanish from the counts.
    unloaded += r.testResults.filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length;
  }
  const verdicts = verdictLines
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Verdict);
  const lines = [
    `tests: ${passed} passed, ${failed} failed, ${skipped} skipped` +
      (unloaded ? `; ${unloaded} test files failed to load` : ''),
  ];
  const skippedBy = byComponent(verdicts.filter((v) => !v.required));
  const missingBy = byComponent(verdicts.filter((v) => v.required));
  for (const l of skippedBy) lines.push(`*** SKIPPED ${l} ***`);
  for (const l of missingBy) lines.push(`*** REQUIRED but missing: ${l} ***`);
  return { lines, failed: failed > 0 || unloaded > 0 || missingBy.length > 0 };
}

/** One line per component: its first reason, then the suites it stopped. */
function byComponent(verdicts: Verdict[]): string[] {
  const groups = new Map<string, Verdict[]>();
  for (const v of verdicts) groups.set(v.component, [...(groups.get(v.component) ?? []), v]);
  return [...groups].map(
    ([component, vs]) => `${component}: ${vs[0]!.reason} (${vs.map((v) => v.suite).join('; ')})`,
  );
}

function readReport(path: string): Report | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Report;
  } catch {
    process.stderr.write(`no results in ${path}\n`);
    return undefined;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [log, ...reports] = process.argv.slice(2);
  let verdicts = '';
  try {
    verdicts = readFileSync(log ?? '', 'utf8');
  } catch {
    // No suite wrote a verdict (or no integration run): nothing was skipped.
  }
  const { lines, failed } = summarize(verdicts, reports.map(readReport));
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = failed ? 1 : 0;
}
