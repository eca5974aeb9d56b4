#!/usr/bin/env node
// Test oracle: the TradeTrust / OpenAttestation verifier (npm @govtechsg/oa-verify, pinned in
// package.json) run against a certnet node, for the interoperability tests.
//
//   node tests/oracle/tt_verify.cjs <document.json|-> <rpc-url> [--chain-id N] [--ignore-network-schema]
//   node tests/oracle/tt_verify.cjs --serve [--chain-id N]
//
// With --serve it reads requests from stdin, one JSON line each: {"documents": [...], "url": "<rpc-url>"}, and
// answers each with one JSON line, the list of results described below (or {"error": "..."}); the library is
// loaded once, for tests that verify again and again.
// Reads a wrapped document (or a JSON array of wrapped documents) from the file, or from stdin
// with "-", and verifies each with
//   verificationBuilder(openAttestationVerifiers, { provider })
// where provider is an ethers v5 StaticJsonRpcProvider for <rpc-url> with a fixed network
// {chainId: N (default 31337), name: "certnet"}, so it never probes for mainnet. Writes JSON to
// stdout: for one document {isValid, calls, fragments: [{name, type, status, reason?, data?}, ...]}
// (isValid is oa-verify's own isValid(fragments); calls lists every eth_call the verifiers made,
// in order, as {to, fn, args, result|error}, decoded against the DocumentStore functions), for an
// array a list of those.
//
// --ignore-network-schema drops, and only drops, the OpenAttestation v2 JSON-schema errors about
// the document's `network` object. oa-verify runs every verifier only on documents that pass
// open-attestation's schema check (utils.isWrappedV2Document -> diagnose -> validateSchema), and
// that schema wants `network: {chain: string, chainId?: string}`, while certnet writes
// `network: {chainId: <number>, name}`; with the flag the hashing and the contract calls are
// oa-verify's own, unchanged. The errors dropped are reported on stderr.
//
// oa-verify 9.4.0 depends on ethers ^5.7.2 (the v5 API: ethers.providers.*), and bundles its own
// copy of the ethers internals; a v5 provider from the project's node_modules is accepted by it.
"use strict";

const fs = require("fs");
const path = require("path");

const projectRoot = path.resolve(__dirname, "..", "..");
const req = (name) => require(require.resolve(name, { paths: [projectRoot] }));

function usage(message) {
  process.stderr.write(
    `${message}\nusage: node tt_verify.cjs <document.json|-> <rpc-url> [--chain-id N] [--ignore-network-schema]\n`
  );
  process.exit(2);
}

function parseArgs(argv) {
  const positional = [];
  let chainId = 31337;
  let ignoreNetworkSchema = false;
  let serve = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--chain-id") {
      chainId = Number(argv[++i]);
      if (!Number.isInteger(chainId) || chainId <= 0) usage(`bad --chain-id ${argv[i]}`);
    } else if (a.startsWith("--chain-id=")) {
      chainId = Number(a.slice("--chain-id=".length));
      if (!Number.isInteger(chainId) || chainId <= 0) usage(`bad ${a}`);
    } else if (a === "--ignore-network-schema") {
      ignoreNetworkSchema = true;
    } else if (a === "--serve") {
      serve = true;
    } else if (a.startsWith("--") && a !== "-") {
      usage(`unknown option ${a}`);
    } else {
      positional.push(a);
    }
  }
  if (serve) {
    if (positional.length !== 0) usage("--serve takes its documents from stdin");
    return { serve, chainId, ignoreNetworkSchema };
  }
  if (positional.length !== 2) usage("expected a document and an RPC URL");
  return { file: positional[0], url: positional[1], chainId, ignoreNetworkSchema };
}

// JSON that survives what fragments carry in `data`: errors, BigNumbers, cycles.
function safeJson(value) {
  const seen = new WeakSet();
  return JSON.stringify(value, function replacer(key, v) {
    if (v && typeof v === "object") {
      if (v._isBigNumber === true || v.type === "BigNumber") return String(v.hex || v);
      if (v instanceof Error) {
        return { error: v.constructor.name, message: v.message, code: v.code, reason: v.reason, method: v.method };
      }
      if (seen.has(v)) return "[circular]";
      seen.add(v);
      // a provider or contract object is of no use in the output
      if (v._isProvider || v.interface) return `[${v.constructor ? v.constructor.name : "object"}]`;
    }
    if (typeof v === "bigint") return v.toString();
    return v;
  });
}

function ignoreNetworkSchemaErrors() {
  const told = new Set();
  const validate = req("@govtechsg/open-attestation/dist/cjs/shared/validate/validate");
  const original = validate.validateSchema;
  validate.validateSchema = (...args) =>
    original(...args).filter((e) => {
      const about = e.instancePath || "";
      if (about === "/network" || about.startsWith("/network/")) {
        const line = `ignored OA schema error: ${about} ${e.message}`;
        if (!told.has(line)) process.stderr.write(line + "\n");
        told.add(line);
        return false;
      }
      return true;
    });
}

// Record every eth_call the verifiers make, decoded against the DocumentStore functions.
function traceCalls(ethers, provider) {
  const iface = new ethers.utils.Interface([
    "function supportsInterface(bytes4) view returns (bool)",
    "function name() view returns (string)",
    "function isIssued(bytes32) view returns (bool)",
    "function isRevoked(bytes32) view returns (bool)",
    "function isActive(bytes32) view returns (bool)",
    "function isIssued(bytes32,bytes32,bytes32[]) view returns (bool)",
    "function isRevoked(bytes32,bytes32,bytes32[]) view returns (bool)",
    "function isActive(bytes32,bytes32,bytes32[]) view returns (bool)",
  ]);
  const calls = [];
  const send = provider.send.bind(provider);
  provider.send = async (method, params) => {
    if (method !== "eth_call") return send(method, params);
    const { to, data } = params[0];
    let fn = data.slice(0, 10);
    let args = [data];
    let tx = null;
    try {
      tx = iface.parseTransaction({ data });
      fn = tx.signature;
      args = tx.args.map((a) => (Array.isArray(a) ? a.map(String) : String(a)));
    } catch (e) {
      // not a DocumentStore function: keep the raw selector and data
    }
    const entry = { to, fn, args };
    calls.push(entry);
    try {
      const raw = await send(method, params);
      entry.result = tx ? iface.decodeFunctionResult(tx.functionFragment, raw).map(String) : raw;
      if (entry.result.length === 1) entry.result = entry.result[0];
      return raw;
    } catch (e) {
      entry.error = String(e && e.message ? e.message : e).slice(0, 300);
      throw e;
    }
  };
  return calls;
}

async function verifyAll(docs, url, chainId) {
  const { ethers } = req("ethers");
  const { verificationBuilder, openAttestationVerifiers, isValid } = req("@govtechsg/oa-verify");
  if (!ethers.version || !ethers.version.startsWith("ethers/5.")) {
    throw new Error(`oa-verify needs ethers v5, found ${ethers.version}`);
  }
  // Static network: no eth_chainId probing per call, and no attempt to reach mainnet.
  const provider = new ethers.providers.StaticJsonRpcProvider(url, { chainId, name: "certnet" });
  const calls = traceCalls(ethers, provider);
  const verify = verificationBuilder(openAttestationVerifiers, { provider });
  const out = [];
  for (const doc of docs) {
    calls.length = 0;
    const fragments = await verify(doc);
    out.push({
      isValid: isValid(fragments),
      calls: calls.slice(),
      fragments: fragments.map((f) => ({
        name: f.name,
        type: f.type,
        status: f.status,
        ...(f.reason !== undefined ? { reason: f.reason } : {}),
        ...(f.data !== undefined ? { data: f.data } : {}),
      })),
    });
  }
  return out;
}

async function serve(chainId) {
  const readline = require("readline");
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let reply;
    try {
      const { documents, url } = JSON.parse(line);
      reply = safeJson(await verifyAll(documents, url, chainId));
    } catch (e) {
      reply = JSON.stringify({ error: String(e && e.stack ? e.stack : e) });
    }
    process.stdout.write(reply + "\n");
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.ignoreNetworkSchema) ignoreNetworkSchemaErrors();
  if (args.serve) return serve(args.chainId);
  const text = args.file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(args.file, "utf8");
  const input = JSON.parse(text);
  const many = Array.isArray(input);
  const out = await verifyAll(many ? input : [input], args.url, args.chainId);
  process.stdout.write(safeJson(many ? out : out[0]));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
