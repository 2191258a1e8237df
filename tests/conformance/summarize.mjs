// Reads the conformance suite's result folders (one checks.json per scenario, written with -o DIR;
// server mode names them server-SCENARIO-TIME, client mode SCENARIO-TIME)
// and prints one line per scenario with every failed check and warning, then a closing count.
// Usage: node summarize.mjs LABEL ACTIVE_DIR [PENDING_DIR]   (exit 1 if an active scenario failed)
import fs from 'node:fs';
import path from 'node:path';

const [label, activeDir, pendingDir] = process.argv.slice(2);

function load(dir) {
  if (!dir || !fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).sort().flatMap((d) => {
    const m = /^(?:server-)?(.+)-\d{4}-\d\d-\d\dT[\d-]+Z$/.exec(d);  // client mode: no prefix
    const f = path.join(dir, d, 'checks.json');
    if (!m || !fs.existsSync(f)) return [];
    return [{ scenario: m[1], checks: JSON.parse(fs.readFileSync(f, 'utf8')) }];
  });
}

function report(results, counted) {
  let passed = 0, failed = 0;
  for (const { scenario, checks } of results) {
    const bad = checks.filter((c) => c.status === 'FAILURE');
    const warn = checks.filter((c) => c.status === 'WARNING');
    const ok = checks.filter((c) => c.status === 'SUCCESS').length;
    const verdict = bad.length ? 'FAIL' : 'PASS';
    if (counted) bad.length ? failed++ : passed++;
    console.log(`${label}: ${verdict} ${scenario}${counted ? '' : ' (pending, not counted)'}: ${ok} ok, ${bad.length} failed, ${warn.length} warnings`);
    for (const c of bad) console.log(`    FAILURE ${c.name}: ${c.errorMessage ?? c.description}`);
    for (const c of warn) console.log(`    warning ${c.name}: ${c.errorMessage ?? c.details?.message ?? c.description}`);
  }
  return { passed, failed };
}

const active = load(activeDir);
const { passed, failed } = report(active, true);
report(load(pendingDir), false);
if (active.length === 0) {
  console.log(`${label}: no scenario results in ${activeDir}`);
  process.exit(1);
}
console.log(`${label}: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
