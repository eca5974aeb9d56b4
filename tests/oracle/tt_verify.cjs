#!/usr/bin/env node
// Test oracle: the two TradeTrust / OpenAttestation verifiers (npm @govtechsg/oa-verify and
// @tradetrust-tt/tt-verify, both pinned in package.json) run against a certnet node, for the
// interoperability and adversarial tests.
//
//   node tests/oracle/tt_verify.cjs <document.json|-> <rpc-url> [--chain-id N] [--ignore-network-schema]
//                                   [--verifier PACKAGE]...
//   node tests/oracle/tt_verify.cjs --serve [--chain-id N] [--verifier PACKAGE]...
//
// With --serve it reads requests from stdin, one JSON line each: {"documents": [...], "url": "<rpc-url>"}, and
// answers each with one JSON line, the list of results described below (or {"error": "..."}); the libraries are
// loaded once, for tests that verify again and again.
// Reads a wrapped document (or a JSON array of wrapped documents) from the file, or from stdin
// with "-", and verifies each with every selected verifier (--verifier, repeatable; by default both):
//   verificationBuilder(openAttestationVerifiers, { provider })
// where provider is an ethers v5 StaticJsonRpcProvider for <rpc-url> with a fixed network
// {chainId: N (default 31337), name: "certnet"}, so it never probes for mainnet; each verifier has a
// provider of its own, and the verifiers check one document concurrently. Writes JSON to stdout: for one
// document an object keyed by package name, {"<package>": {version, isValid, calls, fragments:
// [{name, type, status, reason?, data?}, ...]}, ...} (isValid is that library's own isValid(fragments);
// calls lists every eth_call it made, in the order it made them, as {to, fn, args, result|error},
// decoded against the DocumentStore functions), for an array a list of those.
//
// --ignore-network-schema drops, and only drops, the OpenAttestation v2 JSON-schema errors about
// the document's `network` object. The verifiers run every verifier only on documents that pass
// the schema check (utils.isWrappedV2Document -> diagnose -> validateSchema, in
// @govtechsg/open-attestation for oa-verify and in @tradetrust-tt/tradetrust for tt-verify), and
// that schema wants `network: {chain: string, chainId?: string}`; with the flag the hashing and the
// contract calls are the libraries' own, unchanged. The errors dropped are reported on stderr.
//
// Both libraries depend on ethers v5 (oa-verify 9.4.0 on ^5.7.2, tt-verify 9.7.2 on ^5.8.0 as a peer:
// the v5 API, ethers.providers.*); the project's node_modules has one ethers 5.x that both use.
"use strict";

const fs = require("fs");
const path = require("path");

const projectRoot = path.resolve(__dirname, "..", "..");
const req = (name) => require(require.resolve(name, { paths: [projectRoot] }));

// The verifiers, by package name: where each one's OpenAttestation schema check lives.
const VERIFIERS = {
  "@govtechsg/oa-verify": { schema: "@govtechsg/open-attestation/dist/cjs/shared/validate/validate" },
  "@tradetrust-tt/tt-verify": { schema: "@tradetrust-tt/tradetrust/dist/cjs/shared/validate/validate" },
};

// (read from the manifest in node_modules: the packages' "exports" do not export package.json)
function versionOf(name) {
  return JSON.parse(fs.readFileSync(path.join(projectRoot, "node_modules", name, "package.json"), "utf8")).version;
}

function usage(message) {
  process.stderr.write(
    `${message}\nusage: node tt_verify.cjs <document.json|-> <rpc-url> [--chain-id N] [--ignore-network-schema]` +
      ` [--verifier ${Object.keys(VERIFIERS).join("|")}]...\n`
  );
  process.exit(2);
}

function parseArgs(argv) {
  const positional = [];
  let chainId = 31337;
  let ignoreNetworkSchema = false;
  let serve = false;
  const verifiers = [];
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
    } else if (a === "--verifier" || a.startsWith("--verifier=")) {
      const name = a === "--verifier" ? argv[++i] : a.slice("--verifier=".length);
      if (!(name in VERIFIERS)) usage(`unknown verifier ${name}`);
      if (!verifiers.includes(name)) verifiers.push(name);
    } else if (a === "--serve") {
      serve = true;
    } else if (a.startsWith("--") && a !== "-") {
      usage(`unknown option ${a}`);
    } else {
      positional.push(a);
    }
  }
  if (verifiers.length === 0) verifiers.push(...Object.keys(VERIFIERS));
  if (serve) {
    if (positional.length !== 0) usage("--serve takes its documents from stdin");
    return { serve, chainId, ignoreNetworkSchema, verifiers };
  }
  if (positional.length !== 2) usage("expected a document and an RPC URL");
  return { file: positional[0], url: positional[1], chainId, ignoreNetworkSchema, verifiers };
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

function ignoreNetworkSchemaErrors(schemaModule) {
  const told = new Set();
  const validate = req(schemaModule);
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

// One verifier, loaded once: verify(doc) -> {version, isValid, calls, fragments}.
function loadVerifier(ethers, name, url, chainId) {
  const { verificationBuilder, openAttestationVerifiers, isValid } = req(name);
  // Static network: no eth_chainId probing per call, and no attempt to reach mainnet.
  const provider = new ethers.providers.StaticJsonRpcProvider(url, { chainId, name: "certnet" });
  const calls = traceCalls(ethers, provider);
  const verify = verificationBuilder(openAttestationVerifiers, { provider });
  const version = versionOf(name);
  let busy = Promise.resolve();
  // one document at a time per verifier, so that `calls` holds this document's calls only
  return (doc) => {
    const run = busy.then(async () => {
      calls.length = 0;
      const fragments = await verify(doc);
      return {
        version,
        isValid: isValid(fragments),
        calls: calls.slice(),
        fragments: fragments.map((f) => ({
          name: f.name,
          type: f.type,
          status: f.status,
          ...(f.reason !== undefined ? { reason: f.reason } : {}),
          ...(f.data !== undefined ? { data: f.data } : {}),
        })),
      };
    });
    busy = run.catch(() => undefined);
    return run;
  };
}

const loaded = new Map(); // "<url> <chainId>" -> {name: verify}

function verifiersFor(url, chainId, names) {
  const key = `${url} ${chainId}`;
  if (!loaded.has(key)) {
    const { ethers } = req("ethers");
    if (!ethers.version || !ethers.version.startsWith("ethers/5.")) {
      throw new Error(`the TradeTrust verifiers need ethers v5, found ${ethers.version}`);
    }
    loaded.set(key, Object.fromEntries(names.map((n) => [n, loadVerifier(ethers, n, url, chainId)])));
  }
  return loaded.get(key);
}

async function verifyAll(docs, url, chainId, names) {
  const verifiers = verifiersFor(url, chainId, names);
  const out = [];
  for (const doc of docs) {
    // the verifiers check the same document concurrently, each with its own provider and call log
    const results = await Promise.all(names.map((n) => verifiers[n](doc)));
    out.push(Object.fromEntries(names.map((n, i) => [n, results[i]])));
  }
  return out;
}

async function serve(chainId, names) {
  const readline = require("readline");
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let reply;
    try {
      const { documents, url } = JSON.parse(line);
      reply = safeJson(await verifyAll(documents, url, chainId, names));
    } catch (e) {
      reply = JSON.stringify({ error: String(e && e.stack ? e.stack : e) });
    }
    process.stdout.write(reply + "\n");
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.ignoreNetworkSchema) args.verifiers.forEach((n) => ignoreNetworkSchemaErrors(VERIFIERS[n].schema));
  if (args.serve) return serve(args.chainId, args.verifiers);
  const text = args.file === "-" ? fs.readFileSync(0, "utf8") : fs.readFileSync(args.file, "utf8");
  const input = JSON.parse(text);
  const many = Array.isArray(input);
  const out = await verifyAll(many ? input : [input], args.url, args.chainId, args.verifiers);
  process.stdout.write(safeJson(many ? out : out[0]));
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
