#!/usr/bin/env node
// Test oracle: runs the reference OpenAttestation library (npm @govtechsg/open-attestation,
// pinned in package.json) for certnet's cross-implementation tests and benchmark.
//
//   node tests/oracle/oa.cjs <command> <input.json|-> [--no-schema]
//
// Reads JSON from the file (or stdin with "-"), writes JSON to stdout. Commands:
//   wrap            [raw, ...]                    -> wrapDocuments(raws)
//   wrap-each       [raw, ...]                    -> [wrapDocument(raw), ...]
//   verify          [wrapped, ...]                -> [{ok, error?}, ...]   (verifySignature)
//   obfuscate       [{document, fields}, ...]     -> [obfuscateDocument(document, fields), ...]
//   unsalt          [wrapped, ...]                -> [getData(wrapped), ...]
//   js-string       [number, ...]                 -> [String(n), ...]
//   stringify       [value, ...]                  -> [JSON.stringify(value), ...]
//   verify-message  [{message, signature, bytes}] -> [recovered address, ...] (ethers verifyMessage;
//                                                    bytes: message is 0x-hex, signed as bytes)
//   sign            [{document, key, public}, ...]-> [signDocument(document, Secp256k1, key), ...]
//   bench-wrap      [raw, ...]                    -> {seconds, count, root}  (time of wrapDocuments only)
// --no-schema turns off the library's JSON-schema validation of raw documents (OA v2 requires
// issuers with a DNS-TXT/DID identity proof, which certnet's CERTNET-REGISTRY proofs are not).
"use strict";

const fs = require("fs");
const path = require("path");

// Resolve the library from the project's node_modules, wherever this script is run from.
const projectRoot = path.resolve(__dirname, "..", "..");
const req = (name) => require(require.resolve(name, { paths: [projectRoot] }));

const oa = req("@govtechsg/open-attestation");

function relaxSchema() {
  const validate = req("@govtechsg/open-attestation/dist/cjs/shared/validate/validate");
  validate.validateSchema = () => [];
}

function readInput(file) {
  const text = file === "-" || file === undefined ? fs.readFileSync(0, "utf8") : fs.readFileSync(file, "utf8");
  return JSON.parse(text);
}

function ethersVerifyMessage(message, signature, asBytes) {
  const wallet = req("@ethersproject/wallet");
  const bytes = req("@ethersproject/bytes");
  return wallet.verifyMessage(asBytes ? bytes.arrayify(message) : message, signature);
}

async function main() {
  const args = process.argv.slice(2);
  const flags = args.filter((a) => a.startsWith("--"));
  const [command, file] = args.filter((a) => !a.startsWith("--"));
  if (flags.includes("--no-schema")) relaxSchema();
  const input = readInput(file);
  let out;
  switch (command) {
    case "wrap":
      out = oa.wrapDocuments(input);
      break;
    case "wrap-each":
      out = input.map((d) => oa.wrapDocument(d));
      break;
    case "verify":
      out = input.map((d) => {
        try {
          return { ok: oa.verifySignature(d) === true };
        } catch (e) {
          return { ok: false, error: String(e && e.message ? e.message : e) };
        }
      });
      break;
    case "obfuscate":
      out = input.map(({ document, fields }) => oa.obfuscateDocument(document, fields));
      break;
    case "unsalt":
      out = input.map((d) => oa.getData(d));
      break;
    case "js-string":
      out = input.map((n) => String(n));
      break;
    case "stringify":
      out = input.map((v) => JSON.stringify(v));
      break;
    case "verify-message":
      out = input.map(({ message, signature, bytes }) => ethersVerifyMessage(message, signature, !!bytes));
      break;
    case "sign":
      out = [];
      for (const { document, key, public: pub } of input) {
        out.push(
          await oa.signDocument(document, oa.SUPPORTED_SIGNING_ALGORITHM.Secp256k1VerificationKey2018, {
            private: key,
            public: pub,
          })
        );
      }
      break;
    case "bench-wrap": {
      const t0 = process.hrtime.bigint();
      const wrapped = oa.wrapDocuments(input);
      const t1 = process.hrtime.bigint();
      out = { seconds: Number(t1 - t0) / 1e9, count: wrapped.length, root: wrapped[0].signature.merkleRoot };
      break;
    }
    default:
      throw new Error(`unknown command ${command}`);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
