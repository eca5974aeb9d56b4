#!/usr/bin/env node
// A `solc`-compatible command line over the npm package `solc` (soljson), for py-solc-x:
// `--version` and `--standard-json` (input on stdin, output JSON on stdout). Used where no native
// solc binary can be installed. All sources are passed inline, so no import callback is needed.
"use strict";
const solc = require("solc");
const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write("solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n");
  process.exit(0);
}
if (!args.includes("--standard-json")) {
  process.stderr.write("solc-shim: only --version and --standard-json are supported\n");
  process.exit(2);
}
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  process.stdout.write(solc.compile(input));
  process.stdout.write("\n");
});
