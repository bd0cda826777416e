// Reads the output of `npm test` (cargo test, then ava) and prints one closing line:
// "N passed, N failed[, N skipped]". A failed run whose failures were not counted
// (a build error, a crash) still counts as one failure, so a red run never reads green.
// Every further argument is the exit code of one more CI step (the fuzz run, the Node 22
// start), each counted as one test. Exits non-zero when the tests or any step failed.
import { readFileSync } from 'node:fs';

const [, , logPath, rcText, ...stepCodes] = process.argv;
const log = readFileSync(logPath, 'utf8');
const rc = Number(rcText);

let passed = 0;
let failed = 0;
let skipped = 0;
const sum = (re, add) => {
  for (const m of log.matchAll(re)) add(Number(m[1]), m);
};
// cargo: "test result: ok. 5 passed; 0 failed; 1 ignored; ..."
sum(/^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/gm, (n, m) => {
  passed += n;
  failed += Number(m[2]);
  skipped += Number(m[3]);
});
// ava's summary lines
// ava prints "N tests passed" only when nothing failed; otherwise count its ✔ lines.
const avaPassed = [...log.matchAll(/^\s+(\d+) tests? passed/gm)];
if (avaPassed.length > 0) avaPassed.forEach((m) => (passed += Number(m[1])));
else passed += (log.match(/^\s+✔ /gm) ?? []).length;
sum(/^\s+(\d+) tests? failed/gm, (n) => (failed += n));
sum(/^\s+(\d+) (?:uncaught exceptions?|unhandled rejections?|known failures?)/gm, (n) => (failed += n));
sum(/^\s+(\d+) tests? (?:skipped|todo)/gm, (n) => (skipped += n));
sum(/^\s+(\d+) tests? remained uncompleted/gm, (n) => (failed += n));

if (rc !== 0 && failed === 0) failed = 1;
const stepFailed = stepCodes.filter((c) => Number(c) !== 0).length;
passed += stepCodes.length - stepFailed;
failed += stepFailed;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(rc !== 0 ? rc : stepFailed > 0 ? 1 : 0);
