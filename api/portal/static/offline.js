// Verification without a node, in the browser: a document checked against a checkpoint bundle and a pinned trust
// root with no request to any server. A port of certnet.verifier.bundle / chainproof / verify (the same checks in
// the same order, the same statuses and codes); Keccak, RLP and secp256k1 come from the vendored ethers 5.8.0.
// A classic script (not a module), so that the page also works when saved and opened as a file.
(function () {
  'use strict';
  const E = window.ethers;
  const U = E.utils;
  const CONFIG = JSON.parse(document.getElementById('offline-config').textContent);
  const LAYOUT = CONFIG.layout;
  const FORMAT = 'certnet-bundle';
  const TRUST_FORMAT = 'certnet-trust-root';
  const VERSION = 1;
  const ENGINES = ['clique', 'qbft'];
  const MAX_PROOF_LENGTH = 32;
  const MAX_DOCUMENTS = 10000;
  const CERTNET_IDENTITY = 'CERTNET-REGISTRY';
  const LIST_TYPED = new Set(['FORM_D', 'EPHYTO']);

  class BundleError extends Error {}      // the bundle or trust root cannot be used (Python: BundleError)
  class ChainProofError extends Error {}  // a header, seal or proof does not check
  class Unproven extends ChainProofError {}
  class SourceError extends Error {}

  // ---------------------------------------------------------------- bytes
  const hex = (b) => U.hexlify(b);
  const keccak = (b) => U.keccak256(b);                  // 0x-hex of 32 bytes
  const big = (h) => (h === '0x' ? 0n : BigInt(h));
  const num = (h) => Number(big(h));
  const len = (h) => (h.length - 2) / 2;
  const concat = (...parts) => U.hexConcat(parts);
  const word32 = (n) => U.hexZeroPad('0x' + BigInt(n).toString(16), 32);
  const ZERO20 = '0x' + '00'.repeat(20);
  const ZERO32 = '0x' + '00'.repeat(32);
  const checksum = (a) => U.getAddress(a);
  const utc = (ts) => (ts ? new Date(Number(ts) * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : null);

  /** Strict RLP: ethers decodes, and the encoding must be the canonical one (as pyrlp requires). */
  function rlpDecode(data, what) {
    let out;
    try {
      out = U.RLP.decode(data);
    } catch (e) {
      throw new ChainProofError(`${what} is not valid RLP: ${e.reason || e.message}`);
    }
    if (U.RLP.encode(out) !== data.toLowerCase()) throw new ChainProofError(`${what} is not canonical RLP`);
    return out;
  }

  function hexArg(v, where, size) {
    if (typeof v !== 'string' || !v.startsWith('0x')) throw new BundleError(`${where}: expected a 0x-prefixed hex string`);
    if (!/^0x([0-9a-fA-F]{2})*$/.test(v)) throw new BundleError(`${where}: not hex`);
    if (size !== undefined && len(v) !== size) throw new BundleError(`${where}: expected ${size} bytes, got ${len(v)}`);
    return v.toLowerCase();
  }
  function addressArg(v, where) {
    if (typeof v !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(v) || !U.isAddress(v)) throw new BundleError(`${where}: expected an 0x address`);
    return v.toLowerCase();
  }
  function uintArg(v, where) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new BundleError(`${where}: expected a non-negative integer`);
    return v;
  }
  function obj(v, where, keys) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new BundleError(`${where}: expected an object`);
    for (const k of keys) if (!(k in v)) throw new BundleError(`${where}: ${k} is missing`);
    return v;
  }

  // ---------------------------------------------------------------- headers
  const HEADER_FIELDS = ['parentHash', 'sha3Uncles', 'miner', 'stateRoot', 'transactionsRoot', 'receiptsRoot',
    'logsBloom', 'difficulty', 'number', 'gasLimit', 'gasUsed', 'timestamp', 'extraData', 'mixHash', 'nonce',
    'baseFeePerGas', 'withdrawalsRoot', 'blobGasUsed', 'excessBlobGas', 'parentBeaconBlockRoot', 'requestsHash'];
  const EMPTY_UNCLE_HASH = keccak(U.RLP.encode([]));
  const EMPTY_TRIE_ROOT = keccak(U.RLP.encode('0x'));

  class Header {
    constructor(fields, raw) {
      this.fields = fields;
      this.raw = raw;
      this.hash = keccak(raw);
    }
    static decode(raw, where) {
      const items = rlpDecode(raw, where);
      if (!Array.isArray(items) || items.length < 15 || items.length > HEADER_FIELDS.length || items.some((i) => typeof i !== 'string')) {
        throw new ChainProofError(`${where} is not a block header (an RLP list of 15 to ${HEADER_FIELDS.length} byte strings)`);
      }
      const h = new Header(items, raw.toLowerCase());
      for (const [name, size] of [['parentHash', 32], ['sha3Uncles', 32], ['miner', 20], ['stateRoot', 32], ['logsBloom', 256], ['mixHash', 32], ['nonce', 8]]) {
        if (len(h.field(name)) !== size) throw new ChainProofError(`${where}: ${name} must be ${size} bytes, not ${len(h.field(name))}`);
      }
      return h;
    }
    static fromFields(fields) { return new Header(fields, U.RLP.encode(fields)); }
    field(name) { return this.fields[HEADER_FIELDS.indexOf(name)]; }
    replace(changes) {
      const f = this.fields.slice();
      for (const [k, v] of Object.entries(changes)) f[HEADER_FIELDS.indexOf(k)] = v;
      return Header.fromFields(f);
    }
    get parentHash() { return this.fields[0]; }
    get coinbase() { return this.fields[2]; }
    get stateRoot() { return this.fields[3]; }
    get difficulty() { return big(this.fields[7]); }
    get number() { return num(this.fields[8]); }
    get time() { return num(this.fields[11]); }
    get extra() { return this.fields[12]; }
    get nonce() { return this.fields[14]; }
  }

  function recover(digest, sig, what) {
    if (len(sig) !== 65 || !['00', '01'].includes(sig.slice(-2))) throw new ChainProofError(`${what}: not a 65-byte [r, s, v] signature with v 0 or 1`);
    try {
      return U.recoverAddress(digest, { r: '0x' + sig.slice(2, 66), s: '0x' + sig.slice(66, 130), v: 27 + Number(sig.slice(-2)) }).toLowerCase();
    } catch (e) {
      throw new ChainProofError(`${what}: the signature cannot be recovered`);
    }
  }

  // ---------------------------------------------------------------- Clique
  const EXTRA_VANITY = 32;
  const EXTRA_SEAL = 65;
  const NONCE_AUTH = '0x' + 'ff'.repeat(8);
  const NONCE_DROP = '0x' + '00'.repeat(8);
  const extraBytes = (h) => len(h.extra);
  const cut = (h, from, to) => U.hexDataSlice(h, from, to);

  function cliqueSealHash(h) {
    if (extraBytes(h) < EXTRA_VANITY + EXTRA_SEAL) throw new ChainProofError(`block ${h.number}: extraData of ${extraBytes(h)} bytes has no room for a Clique seal`);
    const f = h.fields.slice();
    f[12] = cut(h.extra, 0, extraBytes(h) - EXTRA_SEAL);
    return keccak(U.RLP.encode(f));
  }
  const cliqueSigner = (h) => recover(cliqueSealHash(h), cut(h.extra, extraBytes(h) - EXTRA_SEAL), `block ${h.number}: the Clique seal`);
  function checkpointSigners(h) {
    const n = extraBytes(h) - EXTRA_VANITY - EXTRA_SEAL;
    if (extraBytes(h) < EXTRA_VANITY + EXTRA_SEAL || n % 20) throw new ChainProofError(`block ${h.number}: a checkpoint's extraData must be vanity, signers and seal`);
    const out = [];
    for (let i = 0; i < n; i += 20) out.push(cut(h.extra, EXTRA_VANITY + i, EXTRA_VANITY + i + 20));
    return out;
  }
  const sorted = (s) => Array.from(s).sort();

  class Snapshot {  // geth's clique.Snapshot
    constructor(signers) { this.signers = new Set(signers); this.recents = new Map(); this.votes = []; this.tally = new Map(); }
    inturn(number, signer) { const s = sorted(this.signers); return this.signers.has(signer) && number % s.length === s.indexOf(signer); }
    cast(address, authorize) {
      const signer = this.signers.has(address);
      if (!((signer && !authorize) || (!signer && authorize))) return false;
      const t = this.tally.get(address);
      if (t) t[1] += 1; else this.tally.set(address, [authorize, 1]);
      return true;
    }
    uncast(address, authorize) {
      const t = this.tally.get(address);
      if (!t || t[0] !== authorize) return false;
      if (t[1] > 1) t[1] -= 1; else this.tally.delete(address);
      return true;
    }
    apply(h, signer, epoch) {
      const number = h.number;
      if (number % epoch === 0) { this.votes = []; this.tally = new Map(); }
      let limit = Math.floor(this.signers.size / 2) + 1;
      if (number >= limit) this.recents.delete(number - limit);
      if (!this.signers.has(signer)) throw new ChainProofError(`block ${number} is sealed by ${checksum(signer)}, not a validator at that block`);
      if (Array.from(this.recents.values()).includes(signer)) throw new ChainProofError(`block ${number}: validator ${checksum(signer)} signed recently (Clique allows one block in ${limit})`);
      this.recents.set(number, signer);
      const i = this.votes.findIndex((v) => v.signer === signer && v.address === h.coinbase);
      if (i >= 0) { this.uncast(this.votes[i].address, this.votes[i].authorize); this.votes.splice(i, 1); }
      let authorize;
      if (h.nonce === NONCE_AUTH) authorize = true;
      else if (h.nonce === NONCE_DROP) authorize = false;
      else throw new ChainProofError(`block ${number}: nonce ${h.nonce.slice(2)} is not a Clique vote`);
      if (this.cast(h.coinbase, authorize)) this.votes.push({ signer, block: number, address: h.coinbase, authorize });
      const t = this.tally.get(h.coinbase);
      if (t && t[1] > Math.floor(this.signers.size / 2)) {
        if (t[0]) this.signers.add(h.coinbase);
        else {
          this.signers.delete(h.coinbase);
          limit = Math.floor(this.signers.size / 2) + 1;
          if (number >= limit) this.recents.delete(number - limit);
          const kept = [];
          for (const v of this.votes) { if (v.signer === h.coinbase) this.uncast(v.address, v.authorize); else kept.push(v); }
          this.votes = kept;
        }
        this.votes = this.votes.filter((v) => v.address !== h.coinbase);
        this.tally.delete(h.coinbase);
      }
    }
  }

  function runsOf(headers) {
    const runs = [];
    for (const h of headers) {
      const last = runs.length ? runs[runs.length - 1][runs[runs.length - 1].length - 1] : null;
      if (last && h.parentHash === last.hash && h.number === last.number + 1) runs[runs.length - 1].push(h);
      else {
        if (last && h.number <= last.number) throw new ChainProofError(`block ${h.number} comes after block ${last.number}: headers must be in ascending order`);
        runs.push([h]);
      }
    }
    return runs;
  }

  function checkCliqueHeader(h, snap, epoch, period, parentTime, landedMidEpoch) {
    const n = h.number;
    if (h.fields[1] !== EMPTY_UNCLE_HASH) throw new ChainProofError(`block ${n}: Clique blocks have no uncles`);
    if (h.field('mixHash') !== ZERO32) throw new ChainProofError(`block ${n}: Clique blocks have a zero mixHash`);
    if (extraBytes(h) < EXTRA_VANITY + EXTRA_SEAL) throw new ChainProofError(`block ${n}: extraData too short for a Clique vanity and seal`);
    if (n % epoch === 0) {
      if (h.coinbase !== ZERO20 || h.nonce !== NONCE_DROP) throw new ChainProofError(`checkpoint block ${n} carries a vote`);
      if (checkpointSigners(h).join() !== sorted(snap.signers).join()) throw new ChainProofError(`checkpoint block ${n} lists signers that are not the validators at that block`);
    } else {
      if (extraBytes(h) !== EXTRA_VANITY + EXTRA_SEAL) throw new ChainProofError(`block ${n} lists signers though it is not a checkpoint`);
      if (landedMidEpoch && h.coinbase !== ZERO20) throw new ChainProofError(`block ${n} carries a vote after a gap: the votes before it are unknown (the bundle must hold the headers from the last checkpoint)`);
    }
    const signer = cliqueSigner(h);
    const want = snap.inturn(n, signer) ? 2n : 1n;
    if (snap.signers.has(signer) && h.difficulty !== want) throw new ChainProofError(`block ${n}: difficulty ${h.difficulty}, Clique wants ${want} for its signer`);
    if (parentTime !== null && h.time < parentTime + period) throw new ChainProofError(`block ${n}: sealed ${h.time - parentTime} s after its parent, the period is ${period} s`);
    return signer;
  }

  function checkCliqueChain(headers, genesisHash, validators, epoch, period, target) {
    if (epoch <= 0) throw new ChainProofError('the Clique epoch must be positive');
    let snap = new Snapshot(validators);
    if (!snap.signers.size) throw new ChainProofError('the trust root names no validators');
    let tipHash = genesisHash, tipNumber = 0, tipTime = null;
    const runs = runsOf(headers);
    if (!runs.length) throw new ChainProofError('the bundle holds no block header');
    let targetRun = null, targetSet = new Set();
    const endorsed = [];
    for (const run of runs) {
      const first = run[0];
      const jump = !(first.parentHash === tipHash && first.number === tipNumber + 1);
      const before = new Set(snap.signers);
      if (jump) {
        if (first.number <= tipNumber) throw new ChainProofError(`block ${first.number} does not follow block ${tipNumber}`);
        if (first.number % epoch === 0) {
          const listed = checkpointSigners(first);
          if (!listed.length || new Set(listed).size !== listed.length) throw new ChainProofError(`checkpoint block ${first.number} lists no or duplicate signers`);
          snap = new Snapshot(listed);
        } else snap = new Snapshot(snap.signers);
        tipTime = null;
      }
      const signersInRun = [];
      for (const h of run) {
        if (targetRun === null && h.number === target) { targetRun = run; targetSet = new Set(snap.signers); }
        const signer = checkCliqueHeader(h, snap, epoch, period, tipTime, jump && first.number % epoch !== 0);
        snap.apply(h, signer, epoch);
        signersInRun.push(signer);
        if (targetRun === run && h.number >= target) endorsed.push(signer);
        tipTime = h.time;
      }
      if (jump) {
        const backing = new Set(signersInRun.filter((s) => before.has(s)));
        if (backing.size <= Math.floor(before.size / 2)) {
          throw new ChainProofError(`the headers from block ${first.number} follow a gap after block ${tipNumber} and are sealed by ${backing.size} of the ${before.size} validators known before it: a majority is needed`);
        }
      }
      tipHash = run[run.length - 1].hash;
      tipNumber = run[run.length - 1].number;
    }
    if (targetRun === null) throw new ChainProofError(`the bundle holds no header of block ${target}`);
    if (targetRun !== runs[runs.length - 1]) throw new ChainProofError(`block ${target} is not in the last run of headers`);
    const distinct = new Set(endorsed.filter((s) => targetSet.has(s)));
    if (distinct.size <= Math.floor(targetSet.size / 2)) {
      throw new ChainProofError(`block ${target} and the headers after it are sealed by ${distinct.size} of the ${targetSet.size} validators at that block: a majority must have sealed it or built on it`);
    }
    const th = targetRun.find((h) => h.number === target);
    return { target: th, validators: sorted(targetSet).map(checksum).sort(), endorsedBy: sorted(distinct).map(checksum).sort(), hash: th.hash };
  }

  // ---------------------------------------------------------------- QBFT (Besu)
  function qbftExtra(h) {
    const where = `block ${h.number}`;
    let items;
    try { items = rlpDecode(h.extra, where); } catch (e) { throw new ChainProofError(`${where}: the QBFT extraData is not RLP (${e.message})`); }
    if (!Array.isArray(items) || items.length !== 5) throw new ChainProofError(`${where}: the QBFT extraData must be RLP [vanity, validators, vote, round, seals]`);
    const [vanity, validators, vote, round, seals] = items;
    if (typeof vanity !== 'string' || !Array.isArray(validators) || !Array.isArray(vote) || typeof round !== 'string' || !Array.isArray(seals)
        || validators.some((v) => typeof v !== 'string' || len(v) !== 20) || seals.some((s) => typeof s !== 'string')
        || (len(round) > 0 && round.slice(2, 4) === '00') || len(round) > 4) {
      throw new ChainProofError(`${where}: malformed QBFT extraData`);
    }
    return { vanity, validators, vote, round, seals };
  }
  const qbftEncode = (x, seals, round) => U.RLP.encode([x.vanity, x.validators, x.vote, round ? x.round : '0x', seals ? x.seals : []]);
  const qbftCommitHash = (h, x) => h.replace({ extraData: qbftEncode(x, false, true) }).hash;
  const qbftBlockHash = (h) => h.replace({ extraData: qbftEncode(qbftExtra(h), false, false) }).hash;
  const qbftQuorum = (n) => Math.ceil((2 * n) / 3);

  function checkQbftChain(headers, genesisHash, validators, target) {
    let known = sorted(new Set(validators));
    if (!known.length) throw new ChainProofError('the trust root names no validators');
    if (!headers.length) throw new ChainProofError('the bundle holds no block header');
    let tipHash = genesisHash, tipNumber = 0, found = null;
    for (const h of headers) {
      if (h.number <= tipNumber) throw new ChainProofError(`block ${h.number} comes after block ${tipNumber}: headers must be ascending`);
      if (h.number === tipNumber + 1 && h.parentHash !== tipHash) throw new ChainProofError(`block ${h.number} does not link to block ${tipNumber} (parentHash)`);
      const x = qbftExtra(h);
      const digest = qbftCommitHash(h, x);
      const committers = x.seals.map((s, i) => recover(digest, s, `block ${h.number}: commit seal ${i}`));
      if (new Set(committers).size !== committers.length) throw new ChainProofError(`block ${h.number}: a validator's commit seal appears twice`);
      const listed = sorted(x.validators);
      for (const [who, group] of [['the validators known before it', known], ['its own validator list', listed]]) {
        const g = new Set(group);
        const signed = new Set(committers.filter((c) => g.has(c)));
        if (signed.size < qbftQuorum(group.length)) {
          throw new ChainProofError(`block ${h.number} carries commit seals of ${signed.size} of the ${group.length} validators of ${who}: ${qbftQuorum(group.length)} are needed`);
        }
      }
      const stray = committers.filter((c) => !listed.includes(c));
      if (stray.length) throw new ChainProofError(`block ${h.number} carries a commit seal of ${checksum(stray[0])}, not a validator`);
      if (h.number === target) found = { h, listed, committers };
      known = listed;
      tipHash = qbftBlockHash(h);
      tipNumber = h.number;
    }
    if (!found) throw new ChainProofError(`the bundle holds no header of block ${target}`);
    return { target: found.h, validators: found.listed.map(checksum), endorsedBy: found.committers.map(checksum).sort(), hash: qbftBlockHash(found.h) };
  }

  // ---------------------------------------------------------------- Merkle-Patricia proofs
  function nibbles(h) { return h.slice(2).split('').map((c) => parseInt(c, 16)); }

  class ProvenState {
    constructor(stateRoot, nodes) {
      this.stateRoot = stateRoot;
      this.db = new Map(nodes.map((n) => [keccak(n), n]));
      this.accounts = new Map();
      this.storageCache = new Map();
    }
    /** The value at `key` (0x-hex) in the trie under `root`; '0x' when absent; Unproven when a node is missing. */
    get(root, key, what) {
      if (root === EMPTY_TRIE_ROOT) return '0x';
      let path = nibbles(key);
      let ref = root;
      try {
        for (let depth = 0; depth < 200; depth++) {
          let node;
          if (typeof ref === 'string') {
            if (ref === '0x') return '0x';
            if (len(ref) !== 32) throw new Error('a child reference that is not a hash');
            const raw = this.db.get(ref);
            if (raw === undefined) throw new Unproven(`the bundle does not prove ${what()}`);
            node = U.RLP.decode(raw);
          } else node = ref;  // a node embedded in its parent (shorter than 32 bytes)
          if (!Array.isArray(node)) throw new Error('a trie node that is not a list');
          if (node.length === 17) {
            if (!path.length) { if (typeof node[16] !== 'string') throw new Error('a branch value that is a list'); return node[16]; }
            ref = node[path[0]];
            path = path.slice(1);
          } else if (node.length === 2) {
            if (typeof node[0] !== 'string' || len(node[0]) === 0) throw new Error('a bad hex-prefix path');
            const enc = nibbles(node[0]);
            const flag = enc[0];
            if (flag > 3) throw new Error('a bad hex-prefix flag');
            const part = enc.slice(flag & 1 ? 1 : 2);
            if (!(flag & 1) && enc[1] !== 0) throw new Error('a bad hex-prefix padding');
            const matches = part.length <= path.length && part.every((v, i) => v === path[i]);
            if (flag >= 2) {  // leaf
              if (!matches || part.length !== path.length) return '0x';
              if (typeof node[1] !== 'string') throw new Error('a leaf value that is a list');
              return node[1];
            }
            if (!matches) return '0x';
            path = path.slice(part.length);
            ref = node[1];
          } else throw new Error(`a trie node of ${node.length} items`);
        }
        throw new Error('a trie too deep');
      } catch (e) {
        if (e instanceof ChainProofError) throw e;
        throw new ChainProofError(`the proof of ${what()} is malformed (${e.message})`);
      }
    }
    account(address) {
      if (!this.accounts.has(address)) {
        const raw = this.get(this.stateRoot, keccak(address), () => `account ${checksum(address)}`);
        if (raw === '0x') this.accounts.set(address, null);
        else {
          let a;
          try { a = rlpDecode(raw, 'account'); } catch (e) { a = null; }
          if (!Array.isArray(a) || a.length !== 4 || a.some((x) => typeof x !== 'string') || len(a[2]) !== 32 || len(a[3]) !== 32) {
            throw new ChainProofError(`account ${checksum(address)} is not an RLP account`);
          }
          this.accounts.set(address, { nonce: big(a[0]), balance: big(a[1]), storageRoot: a[2], codeHash: a[3] });
        }
      }
      return this.accounts.get(address);
    }
    storage(address, slot) {
      const key = address + ':' + slot.toString(16);
      if (!this.storageCache.has(key)) {
        const acct = this.account(address);
        if (acct === null) this.storageCache.set(key, 0n);
        else {
          const raw = this.get(acct.storageRoot, keccak(word32(slot)), () => `storage slot 0x${slot.toString(16)} of ${checksum(address)}`);
          let v = 0n;
          if (raw !== '0x') {
            let d;
            try { d = rlpDecode(raw, 'slot'); } catch (e) { d = null; }
            if (typeof d !== 'string') throw new ChainProofError(`storage slot 0x${slot.toString(16)} of ${checksum(address)} is not an RLP integer`);
            v = big(d);
          }
          this.storageCache.set(key, v);
        }
      }
      return this.storageCache.get(key);
    }
  }
  const eip1167Code = (impl) => concat('0x363d3d373d3d3d363d73', impl, '0x5af43d82803e903d91602b57fd5bf3');

  // ---------------------------------------------------------------- the contracts' status logic on proven storage
  const mappingSlot = (key32, slot) => big(keccak(concat(key32, word32(slot))));
  const addrKey = (a) => U.hexZeroPad(a, 32);
  const bytes2Key = (c) => concat(c, '0x' + '00'.repeat(30));
  const bits = (word, offset, size) => (word >> BigInt(8 * offset)) & ((1n << BigInt(8 * size)) - 1n);
  const addrOf = (n) => U.hexZeroPad('0x' + n.toString(16), 20);
  const pairHash = (a, b) => keccak(a <= b ? concat(a, b) : concat(b, a));

  class StateView {
    constructor(state, registry) { this.state = state; this.registry = registry; this.s = LAYOUT.structs; this.revs = new Map(); }
    read(account, slot) { return this.state.storage(account, slot); }
    member(account, base, struct, m) { const [slot, off, size] = this.s[struct][m]; return bits(this.read(account, base + BigInt(slot)), off, size); }
    reg(v) { return BigInt(LAYOUT.IssuerRegistry[v]); }
    store(v) { return BigInt(LAYOUT.DocumentStore[v]); }
    authority(store) {
      const word = this.read(this.registry, mappingSlot(addrKey(store), this.reg('_authorities')));
      const f = this.s.Authority;
      const get = (m) => bits(word, f[m][1], f[m][2]);
      return { country: U.hexZeroPad('0x' + get('country').toString(16), 2), epoch: get('epoch'), documentTypes: get('documentTypes'), validFrom: get('validFrom'), validUntil: get('validUntil') };
    }
    keyBase(key) { return mappingSlot(addrKey(key), this.reg('_keys')); }
    compromisedSince(key) { return this.member(this.registry, this.keyBase(key), 'Key', 'compromisedSince'); }
    countsAt(account, t) { const since = this.compromisedSince(account); return since === 0n || t < since; }
    counts(by, t) { return t !== 0n && this.countsAt(by, t); }
    upperLookup(base, t) {
      const length = this.read(this.registry, base);
      const data = big(keccak(word32(base)));
      let low = 0n, high = length;
      const k = this.s.Checkpoint208._key;
      while (low < high) {
        const mid = (low & high) + ((low ^ high) >> 1n);
        if (bits(this.read(this.registry, data + mid), k[1], k[2]) > t) high = mid; else low = mid + 1n;
      }
      if (high === 0n) return 0n;
      const v = this.s.Checkpoint208._value;
      return bits(this.read(this.registry, data + high - 1n), v[1], v[2]);
    }
    isAuthorisedAt(key, store, documentType, t) {
      const kb = this.keyBase(key);
      if (this.member(this.registry, kb, 'Key', 'status') === 0n || addrOf(this.member(this.registry, kb, 'Key', 'store')) !== store) return false;
      const a = this.authority(store);
      if (documentType > 63 || ((a.documentTypes >> BigInt(documentType)) & 1n) === 0n) return false;
      const vf = this.member(this.registry, kb, 'Key', 'validFrom'), vu = this.member(this.registry, kb, 'Key', 'validUntil');
      if (t < vf || t > vu || t < a.validFrom || t > a.validUntil) return false;
      const since = this.compromisedSince(key);
      if (since !== 0n && t >= since) return false;
      if (this.upperLookup(mappingSlot(addrKey(key), this.reg('_keyStatus')), t) !== 1n) return false;
      return this.upperLookup(mappingSlot(bytes2Key(a.country), this.reg('_membership')), t) === a.epoch;
    }
    storeName(store) {
      const slot = this.store('_name');
      const w = this.read(store, slot);
      let raw;
      if ((w & 1n) === 0n) raw = U.hexDataSlice(word32(w), 0, Number((w & 0xffn) / 2n));
      else {
        const length = Number((w - 1n) / 2n);
        if (length > 4096) throw new ChainProofError("the store's name is implausibly long");
        const data = big(keccak(word32(slot)));
        const parts = [];
        for (let i = 0; i < Math.ceil(length / 32); i++) parts.push(word32(this.read(store, data + BigInt(i))));
        raw = U.hexDataSlice(concat(...(parts.length ? parts : ['0x'])), 0, length);
      }
      return new TextDecoder('utf-8').decode(U.arrayify(raw));
    }
    revocation(store, h) {
      const key = store + h;
      if (!this.revs.has(key)) {
        const word = this.read(store, mappingSlot(h, this.store('_revocations')));
        const f = this.s.Revocation;
        const get = (m) => bits(word, f[m][1], f[m][2]);
        const by = addrOf(get('by'));
        this.revs.set(key, this.counts(by, get('revokedAt')) ? { by, reason: get('reason'), revokedAt: get('revokedAt'), block: get('blockNumber') } : null);
      }
      return this.revs.get(key);
    }
    statusOf(store, root, document, proof) {
      const a = this.authority(store);
      const base = { store: checksum(store), root, document, storeRegistered: a.epoch !== 0n };
      if (a.epoch === 0n) return base;
      if (proof.length > MAX_PROOF_LENGTH) throw new ChainProofError(`a proof of ${proof.length} nodes is longer than the store accepts`);
      const word = this.read(store, mappingSlot(root, this.store('_anchors')));
      const f = this.s.Anchor;
      const get = (m) => bits(word, f[m][1], f[m][2]);
      const key = addrOf(get('key'));
      let level = 0, revokedHash = null;
      let rec = this.revocation(store, root);
      if (rec) { level = 1; revokedHash = root; } else {
        rec = this.revocation(store, document);
        if (rec) { level = 2; revokedHash = document; } else {
          let node = document;
          for (const sib of proof.slice(0, -1)) {
            node = pairHash(node, sib);
            rec = this.revocation(store, node);
            if (rec) { level = 3; revokedHash = node; break; }
          }
        }
      }
      const sb = mappingSlot(document, this.store('_supersessions'));
      const sup = this.s.Supersession;
      const supersededAt = this.member(store, sb, 'Supersession', 'supersededAt');
      let succ = null;
      if (supersededAt) {
        const by = addrOf(this.member(store, sb, 'Supersession', 'by'));
        if (this.counts(by, supersededAt)) {
          succ = {
            store: addrOf(this.member(store, sb, 'Supersession', 'successorStore')),
            root: word32(this.read(store, sb + BigInt(sup.successorRoot[0]))),
            document: word32(this.read(store, sb + BigInt(sup.successorDocument[0]))),
            at: Number(supersededAt), by,
          };
        }
      }
      const issued = key !== ZERO20;
      const authorised = issued && addrOf(this.member(this.registry, this.keyBase(key), 'Key', 'store')) === store && this.countsAt(key, get('anchoredAt'));
      const country = new TextDecoder().decode(U.arrayify(a.country)).replace(/\0+$/, '');
      return {
        ...base, country: country || null, issued, issuer: issued ? checksum(key) : null,
        documentType: Number(get('documentType')), documentCount: Number(get('documentCount')),
        anchoredAt: Number(get('anchoredAt')), anchoredBlock: Number(get('blockNumber')), issuerAuthorised: authorised,
        revoked: level !== 0, rootRevoked: level === 1, revokedLevel: level, revokedHash,
        revocationReason: rec ? Number(rec.reason) : 0, revokedAt: rec ? Number(rec.revokedAt) : 0,
        revokedBlock: rec ? Number(rec.block) : 0, revokedBy: rec ? checksum(rec.by) : null,
        superseded: !!succ, successor: succ,
      };
    }
  }

  // ---------------------------------------------------------------- trust root and bundle
  function parseTrustRoot(raw, where = 'trust root') {
    const t = obj(raw, where, ['format', 'version', 'network', 'consensus', 'issuerRegistry']);
    if (t.format !== TRUST_FORMAT || t.version !== VERSION) throw new BundleError(`${where}: not a ${TRUST_FORMAT} version ${VERSION} file`);
    const net = obj(t.network, `${where}.network`, ['name', 'chainId', 'genesisHash']);
    const con = obj(t.consensus, `${where}.consensus`, ['engine', 'validators']);
    const reg = obj(t.issuerRegistry, `${where}.issuerRegistry`, ['address', 'codeHash', 'storeImplementation', 'storeCodeHash']);
    if (!ENGINES.includes(con.engine)) throw new BundleError(`${where}.consensus.engine: one of ${ENGINES.join(', ')}`);
    if (!Array.isArray(con.validators) || !con.validators.length) throw new BundleError(`${where}.consensus.validators: a non-empty list of addresses`);
    if (typeof net.name !== 'string') throw new BundleError(`${where}.network.name: a string`);
    const validators = con.validators.map((v, i) => addressArg(v, `${where}.consensus.validators.${i}`));
    if (new Set(validators).size !== validators.length) throw new BundleError(`${where}.consensus.validators: a validator appears twice`);
    const epoch = uintArg('epoch' in con ? con.epoch : 30000, `${where}.consensus.epoch`);
    if (con.engine === 'clique' && epoch === 0) throw new BundleError(`${where}.consensus.epoch: must be positive`);
    return {
      name: net.name, chainId: uintArg(net.chainId, `${where}.network.chainId`),
      genesisHash: hexArg(net.genesisHash, `${where}.network.genesisHash`, 32), engine: con.engine, validators, epoch,
      period: uintArg('period' in con ? con.period : 0, `${where}.consensus.period`),
      registry: addressArg(reg.address, `${where}.issuerRegistry.address`),
      registryCodeHash: hexArg(reg.codeHash, `${where}.issuerRegistry.codeHash`, 32),
      storeImplementation: addressArg(reg.storeImplementation, `${where}.issuerRegistry.storeImplementation`),
      storeCodeHash: hexArg(reg.storeCodeHash, `${where}.issuerRegistry.storeCodeHash`, 32),
    };
  }

  function parseBundle(raw, where = 'bundle') {
    const b = obj(raw, where, ['format', 'version', 'network', 'engine', 'issuerRegistry', 'block', 'headers', 'nodes']);
    if (b.format !== FORMAT) throw new BundleError(`${where}: not a ${FORMAT} file`);
    if (b.version !== VERSION) throw new BundleError(`${where}: version ${JSON.stringify(b.version)}; this verifier reads version ${VERSION}`);
    const net = obj(b.network, `${where}.network`, ['chainId', 'genesisHash']);
    if (!ENGINES.includes(b.engine)) throw new BundleError(`${where}.engine: one of ${ENGINES.join(', ')}`);
    for (const k of ['headers', 'nodes']) if (!Array.isArray(b[k])) throw new BundleError(`${where}.${k}: expected a list`);
    const headers = b.headers.map((h, i) => {
      try { return Header.decode(hexArg(h, `${where}.headers.${i}`), `${where}.headers.${i}`); } catch (e) {
        if (e instanceof ChainProofError) throw new BundleError(e.message);
        throw e;
      }
    });
    return {
      chainId: uintArg(net.chainId, `${where}.network.chainId`), genesisHash: hexArg(net.genesisHash, `${where}.network.genesisHash`, 32),
      engine: b.engine, registry: addressArg(b.issuerRegistry, `${where}.issuerRegistry`), block: uintArg(b.block, `${where}.block`),
      headers, nodes: b.nodes.map((n, i) => hexArg(n, `${where}.nodes.${i}`)),
    };
  }

  function networkProblem(b, t) {
    if (b.chainId !== t.chainId) return `the bundle is for chain ${b.chainId}, the trust root for chain ${t.chainId} (${t.name})`;
    if (b.genesisHash !== t.genesisHash) return `the bundle is for a network with genesis ${b.genesisHash.slice(0, 18)}..., the trust root's (${t.name}) starts at ${t.genesisHash.slice(0, 18)}...`;
    if (b.engine !== t.engine) return `the bundle is sealed by ${b.engine}, the trust root's network by ${t.engine}`;
    if (b.registry !== t.registry) return `the bundle proves issuer registry ${checksum(b.registry)}, the trust root's is ${checksum(t.registry)}`;
    return null;
  }

  function checkBundle(b, t) {
    try {
      const chain = t.engine === 'clique'
        ? checkCliqueChain(b.headers, t.genesisHash, t.validators, t.epoch, t.period, b.block)
        : checkQbftChain(b.headers, t.genesisHash, t.validators, b.block);
      const state = new ProvenState(chain.target.stateRoot, b.nodes);
      const reg = state.account(t.registry);
      if (reg === null || reg.codeHash !== t.registryCodeHash) {
        throw new ChainProofError(`the account of issuer registry ${checksum(t.registry)} does not hold the registry code the trust root names`);
      }
      return { chain, state, blockHash: chain.hash };
    } catch (e) {
      if (e instanceof ChainProofError) throw new BundleError(`the bundle does not check: ${e.message}`);
      throw e;
    }
  }

  /** The status source of Verifier: answers from a checked bundle (SourceError when it does not check). */
  class BundleSource {
    constructor(bundle, trust) { this.bundle = bundle; this.trust = trust; this.checkedBundle = null; this.error = null; this.kind = 'bundle'; }
    checked() {
      if (this.error !== null) throw new SourceError(this.error);
      if (this.checkedBundle === null) {
        try { this.checkedBundle = checkBundle(this.bundle, this.trust); } catch (e) {
          if (!(e instanceof BundleError)) throw e;
          this.error = e.message;
          throw new SourceError(e.message);
        }
      }
      return this.checkedBundle;
    }
    network() { this.checked(); return { chainId: this.trust.chainId, name: this.trust.name, issuerRegistry: checksum(this.trust.registry) }; }
    view() { const c = this.checked(); return (this._view ||= new StateView(c.state, this.trust.registry)); }
    read(queries) {
      const c = this.checked();
      const view = this.view();
      const storeCode = new Map();
      const out = queries.map(([store, root, doc, proof]) => {
        try {
          const st = view.statusOf(store.toLowerCase(), '0x' + root, '0x' + doc, proof.map((p) => '0x' + p));
          if (st.storeRegistered) {
            const s = store.toLowerCase();
            if (!storeCode.has(s)) {
              const acct = c.state.account(s);
              storeCode.set(s, acct && acct.codeHash === this.trust.storeCodeHash ? null : `the document store ${checksum(s)} does not hold the code of a certnet store`);
            }
            if (storeCode.get(s)) throw new ChainProofError(storeCode.get(s));
          }
          return st;
        } catch (e) {
          if (!(e instanceof ChainProofError)) throw e;
          return { unproven: `the bundle does not prove this document's status (${e.message})` };
        }
      });
      return [c.chain.target.number, c.blockHash, out];
    }
    authorityName(store) {
      try { return this.view().storeName(store.toLowerCase()) || null; } catch (e) {
        if (e instanceof ChainProofError) throw new SourceError(`the bundle does not prove the authority's name (${e.message})`);
        throw e;
      }
    }
    keyAuthorised(key, store, type, time) {
      try { return this.view().isAuthorisedAt(key.toLowerCase(), store.toLowerCase(), type, BigInt(time)); } catch (e) {
        if (e instanceof ChainProofError) throw new SourceError(`the bundle does not prove the signing key's authorisation (${e.message})`);
        throw e;
      }
    }
  }

  // ---------------------------------------------------------------- integrity (OpenAttestation v2)
  const HASH64 = /^[0-9a-f]{64}$/;
  const SALTED = /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}):(string|number|boolean|null):/;
  const NUMBER = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/;
  const MAX_DEPTH = 64;
  class Malformed extends Error {}
  const isHash = (v) => typeof v === 'string' && HASH64.test(v);
  const short = (v) => { const s = JSON.stringify(v); return s === undefined ? String(v) : s.length > 80 ? s.slice(0, 77) + '...' : s; };
  const typeName = (v) => (v === null ? 'NoneType' : Array.isArray(v) ? 'list' : typeof v === 'object' ? 'dict' : typeof v === 'string' ? 'str' : typeof v === 'boolean' ? 'bool' : Number.isInteger(v) ? 'int' : 'float');
  const textHash = (text) => keccak(U.toUtf8Bytes(text)).slice(2);

  function unsaltValue(value, path) {
    if (typeof value !== 'string') throw new Malformed(`${path}: expected a salted string, found ${typeName(value)}`);
    const m = SALTED.exec(value);
    if (!m) throw new Malformed(`${path}: value is not salted as '<uuid4>:<type>:<value>'`);
    const text = value.slice(m[0].length);
    if (m[2] === 'string') return text;
    if (m[2] === 'number') {
      if (text.length > 400 || !NUMBER.test(text)) throw new Malformed(`${path}: salted number ${short(text)} is not a number`);
      const n = Number(text);
      if (!Number.isFinite(n)) throw new Malformed(`${path}: salted number ${short(text)} is out of range`);
      return n;
    }
    if (m[2] === 'boolean') {
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new Malformed(`${path}: salted boolean ${short(text)} is neither true nor false`);
    }
    if (text !== 'null') throw new Malformed(`${path}: salted null carries ${short(text)}`);
    return null;
  }
  function checkKey(k, prefix) { if (k.includes('.')) throw new Malformed(`${prefix}${k}: key ${short(k)} contains '.', which the proof format cannot flatten`); }
  function checkRoot(data) {
    if ('' in data && data[''] !== null && typeof data[''] === 'object' && Object.keys(data['']).length) {
      throw new Malformed('data: an empty top-level key cannot hold a non-empty object or array (its fields would flatten onto the top level)');
    }
  }
  /** Leaf hashes of salted data (every leaf must unsalt), and the unsalted data. */
  function unsaltAndHash(node, path, depth, hashes) {
    if (node !== null && typeof node === 'object') {
      if (depth > MAX_DEPTH) throw new Malformed(`data.${path}: objects and arrays are nested more than ${MAX_DEPTH} levels deep`);
      const isArr = Array.isArray(node);
      const keys = isArr ? node.map((_, i) => String(i)) : Object.keys(node);
      if (!keys.length) { hashes.push(textHash(JSON.stringify({ [path]: node }))); return isArr ? [] : {}; }
      const out = isArr ? [] : {};
      for (const k of keys) {
        if (!isArr) checkKey(k, path + '.');
        out[isArr ? Number(k) : k] = unsaltAndHash(node[k], `${path}.${k}`, depth + 1, hashes);
      }
      return out;
    }
    const value = unsaltValue(node, `data.${path}`);
    hashes.push(textHash(JSON.stringify({ [path]: node })));
    return value;
  }
  function unsaltData(data, hashes) {
    checkRoot(data);
    const out = {};
    for (const k of Object.keys(data)) { checkKey(k, ''); out[k] = unsaltAndHash(data[k], k, 2, hashes); }
    return out;
  }
  const targetHash = (hashes) => textHash(JSON.stringify(hashes.slice().sort()));
  function verifyProof(leaf, proof, root) {
    let h = '0x' + leaf;
    for (const p of proof) h = pairHash(h, '0x' + p);
    return h === '0x' + root;
  }
  function malformed(message, th = null, root = null) { return { ok: false, code: 'MALFORMED', message: 'The document is malformed: ' + message, targetHash: th, merkleRoot: root, proof: [] }; }

  function checkIntegrity(w) {
    let th = null, root = null;
    try {
      const need = (c, m) => { if (!c) throw new Malformed(m); };
      need(w !== null && typeof w === 'object' && !Array.isArray(w), `a wrapped document is a JSON object, found ${typeName(w)}`);
      need(w.version !== undefined, 'version is missing');
      if (w.version !== CONFIG.schemaV2) throw new Malformed(`version is ${short(w.version)}, expected '${CONFIG.schemaV2}'`);
      const sig = w.signature;
      need(sig !== undefined && sig !== null, 'signature is missing');
      need(typeof sig === 'object' && !Array.isArray(sig), `signature must be an object, found ${typeName(sig)}`);
      if (sig.type !== CONFIG.proofType) throw new Malformed(`signature.type is ${short(sig.type)}, expected '${CONFIG.proofType}'`);
      th = isHash(sig.targetHash) ? sig.targetHash : null;
      root = isHash(sig.merkleRoot) ? sig.merkleRoot : null;
      for (const [v, n] of [[sig.targetHash, 'signature.targetHash'], [sig.merkleRoot, 'signature.merkleRoot']]) {
        need(v !== undefined && v !== null, `${n} is missing`);
        need(isHash(v), `${n} is not 64 lowercase hex digits without 0x: ${short(v)}`);
      }
      const proof = sig.proof;
      need(proof !== undefined && proof !== null, 'signature.proof is missing');
      need(Array.isArray(proof), `signature.proof must be a list, found ${typeName(proof)}`);
      proof.forEach((p, i) => need(isHash(p), `signature.proof.${i} is not 64 lowercase hex digits without 0x: ${short(p)}`));
      const data = w.data;
      need(data !== undefined && data !== null, 'data is missing');
      need(typeof data === 'object' && !Array.isArray(data), `data must be an object, found ${typeName(data)}`);
      let obfuscated = [];
      if ('privacy' in w) {
        const pr = w.privacy;
        need(pr !== null && typeof pr === 'object' && !Array.isArray(pr), `privacy must be an object, found ${typeName(pr)}`);
        if ('obfuscatedData' in pr) {
          need(Array.isArray(pr.obfuscatedData), `privacy.obfuscatedData must be a list, found ${typeName(pr.obfuscatedData)}`);
          pr.obfuscatedData.forEach((h, i) => need(isHash(h), `privacy.obfuscatedData.${i} is not 64 lowercase hex digits without 0x: ${short(h)}`));
          obfuscated = pr.obfuscatedData;
        }
      }
      const hashes = [];
      const unsalted = unsaltData(data, hashes);
      const computed = targetHash([...hashes, ...obfuscated]);
      if (computed !== th) {
        return { ok: false, code: 'TARGET_HASH_MISMATCH', message: `The document has been tampered with: its contents do not match its targetHash (computed ${computed}, document says ${th}).`, targetHash: th, merkleRoot: root, proof: [] };
      }
      if (!verifyProof(th, proof, root)) {
        return { ok: false, code: 'MERKLE_PROOF_INVALID', message: `The document has been tampered with: its Merkle proof does not lead from the targetHash to the merkleRoot ${root}.`, targetHash: th, merkleRoot: root, proof: [] };
      }
      const hidden = obfuscated.length ? `, ${obfuscated.length} field(s) hidden` : '';
      return { ok: true, code: 'VALID', message: `The document is intact: its contents match targetHash ${th} and its proof leads to merkleRoot ${root}${hidden}.`, targetHash: th, merkleRoot: root, proof, unsalted };
    } catch (e) {
      if (e instanceof Malformed) return malformed(e.message, th, root);
      return malformed(`the document could not be read (${e.name}: ${e.message})`, th, root);
    }
  }

  /** The first key that appears twice in one object of JSON text JSON.parse accepted (null: none). The Python
   *  verifier refuses such a document (parsers differ on which value counts), so this page must too. */
  function duplicateKey(text) {
    const stack = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        let j = i + 1;
        while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
        const top = stack[stack.length - 1];
        if (top && top.keys && top.expectKey) {
          const key = JSON.parse(text.slice(i, j + 1));
          if (top.keys.has(key)) return key;
          top.keys.add(key);
          top.expectKey = false;
        }
        i = j;
      } else if (c === '{') stack.push({ keys: new Set(), expectKey: true });
      else if (c === '[') stack.push({ keys: null });
      else if (c === '}' || c === ']') stack.pop();
      else if (c === ',' && stack.length && stack[stack.length - 1].keys) stack[stack.length - 1].expectKey = true;
    }
    return null;
  }

  function listAsObject(node, path = '') {
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
      const keys = Object.keys(node);
      if (keys.length && keys[0] === '0' && keys.every((k, i) => k === String(i))) return path || '(top)';
      for (const k of keys) {
        const v = node[k];
        if (v !== null && typeof v === 'object') { const f = listAsObject(v, path ? `${path}.${k}` : k); if (f) return f; }
      }
    } else if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (v !== null && typeof v === 'object') { const f = listAsObject(v, path ? `${path}.${i}` : String(i)); if (f) return f; }
      }
    }
    return null;
  }

  function envelope(u) {
    const s = (v) => (typeof v === 'string' ? v : null);
    let first = {};
    if (Array.isArray(u.issuers)) first = u.issuers.find((i) => i && typeof i === 'object' && (i.documentStore || i.certificateStore)) || {};
    const ident = first.identityProof && typeof first.identityProof === 'object' ? first.identityProof : {};
    const net = u.network && typeof u.network === 'object' && !Array.isArray(u.network) ? u.network : {};
    return {
      store: s(first.documentStore || first.certificateStore), identityType: s(ident.type), identityLocation: s(ident.location),
      chainId: net.chainId === undefined ? null : net.chainId, documentType: s(u.documentType), issuingCountry: s(u.issuingCountry),
      referenceNumber: s(u.referenceNumber), issuerName: s(first.name),
    };
  }

  function recoverSigners(w) {
    const root = w.signature && w.signature.merkleRoot;
    if (!isHash(root)) throw new Malformed('signature.merkleRoot: missing, or not 64 lowercase hex digits');
    let proofs = w.proof === undefined || w.proof === null ? [] : w.proof;
    if (!Array.isArray(proofs)) throw new Malformed('proof: must be a list of signatures');
    return proofs.map((e, i) => {
      const where = `proof.${i}`;
      if (!e || typeof e !== 'object' || Array.isArray(e)) throw new Malformed(`${where}: a signature proof must be an object`);
      if (e.type !== 'OpenAttestationSignature2018') throw new Malformed(`${where}.type: is ${short(e.type)}, expected 'OpenAttestationSignature2018'`);
      if (e.proofPurpose !== 'assertionMethod') throw new Malformed(`${where}.proofPurpose: is ${short(e.proofPurpose)}, expected 'assertionMethod'`);
      if (typeof e.verificationMethod !== 'string') throw new Malformed(`${where}.verificationMethod: is missing or not a string`);
      if (typeof e.signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(e.signature)) throw new Malformed(`${where}.signature: is not a 65-byte 0x-hex signature`);
      try { return U.verifyMessage('0x' + root, e.signature); } catch (x) { throw new Malformed(`${where}.signature: cannot be recovered (${x.message})`); }
    });
  }

  // ---------------------------------------------------------------- the verdict (certnet.verifier.verify.Verifier)
  const check = (type, status, code, message, details = {}) => ({ type, status, code, message, details });

  function overallMessage(status, v) {
    const ref = v.document.referenceNumber;
    const what = ref ? `Certificate ${ref}` : 'This document';
    switch (status) {
      case 'VALID': return `${what} is valid: intact, issued${v.issuer && v.issuer.name ? ` by ${v.issuer.name} (${v.issuer.country})` : ''}, not revoked.`;
      case 'TAMPERED': return `${what} has been altered after it was issued. Do not accept it.`;
      case 'NOT_ISSUED': return `${what} was never issued on this network. Do not accept it.`;
      case 'REVOKED': return `${what} was revoked by its issuer on ${(v.revocation || {}).revokedAtUtc}: ${(v.revocation || {}).reasonText}. Do not accept it.`;
      case 'SUPERSEDED': return `${what} was replaced by another certificate on ${(v.successor || {}).supersededAtUtc}. Ask for the replacement.`;
      case 'UNAUTHORIZED_ISSUER': return `${what} was not issued by an authority authorised to issue it at the time. Do not accept it.`;
      case 'WRONG_NETWORK': return `${what} belongs to another network than the one this verifier reads; its status is unknown here.`;
      case 'MALFORMED': return 'The file is not a readable certnet / OpenAttestation v2 document.';
      case 'INTEGRITY_ONLY': return `${what} is intact; its issuance and revocation status were not checked (offline).`;
      default: return `The status of ${ref ? what : what.toLowerCase()} could not be read. Do not accept it until it can be checked.`;
    }
  }

  class Verifier {
    constructor(source) { this.source = source; }

    prepare(doc) {
      let w = doc;
      if (typeof doc === 'string') {
        try { w = JSON.parse(doc); } catch (e) { return [null, malformed(`it is not valid JSON (${e.message})`), null]; }
        const twice = duplicateKey(doc);
        if (twice !== null) return [null, malformed(`it is not valid JSON (the key ${short(twice)} appears twice in one object)`), null];
      }
      let integ = checkIntegrity(w);
      let env = null;
      if (integ.code !== 'MALFORMED') {
        try {
          const d = w.data;
          const part = {};
          for (const k of ['issuers', 'network', 'documentType', 'issuingCountry', 'referenceNumber']) if (k in d) part[k] = d[k];
          env = envelope(unsaltData(part, []));
        } catch (e) { return [w, integ, null]; }
        const where = LIST_TYPED.has(env.documentType) ? listAsObject(w.data) : null;
        if (where !== null) {
          integ = { ...integ, ok: false, code: 'MALFORMED', message: `The document is malformed: data.${where} is an object keyed 0, 1, ... where a ${env.documentType} has a list; its structure was changed after issue.` };
        }
      }
      return [w, integ, env];
    }

    static networkProblem(env, net) {
      if (!env.store) return 'it names no document store (it is not anchored on a document store)';
      if (!/^0[xX][0-9a-fA-F]{40}$/.test(env.store)) return `its document store '${env.store}' is not an address`;
      if (env.chainId !== null && String(env.chainId) !== String(net.chainId)) return `it names chain ${env.chainId}, the network configured here is chain ${net.chainId}`;
      return null;
    }

    integrityCheck(integ) {
      const details = { targetHash: integ.targetHash, merkleRoot: integ.merkleRoot };
      if (integ.ok) return check('DOCUMENT_INTEGRITY', 'VALID', 'INTACT', 'The document has not been altered since it was issued.', details);
      if (integ.code === 'MALFORMED') return check('DOCUMENT_INTEGRITY', 'INVALID', 'MALFORMED', integ.message, details);
      const i = integ.message.indexOf(': ');
      return check('DOCUMENT_INTEGRITY', 'INVALID', integ.code, 'The document was altered after it was issued: ' + (i >= 0 ? integ.message.slice(i + 2) : integ.message), details);
    }

    signatureCheck(w, st) {
      const p = w && typeof w === 'object' && !Array.isArray(w) ? w.proof : null;
      if (!p || (typeof p === 'object' && Object.keys(p).length === 0)) return null;  // Python's falsy proof
      let signers;
      try { signers = recoverSigners(w); } catch (e) {
        if (!(e instanceof Malformed)) throw e;
        return check('ISSUER_SIGNATURE', 'INVALID', 'SIGNATURE_MALFORMED', `The issuer's signature cannot be read: ${e.message}.`);
      }
      if (!st || !st.issuer) return check('ISSUER_SIGNATURE', 'SKIPPED', 'NOT_COMPARED', `Signed by ${signers.join(', ')}; not compared with the issuing account (status not read).`, { signers });
      for (const s of signers) {
        if (s.toLowerCase() === st.issuer.toLowerCase() || this.source.keyAuthorised(s, st.store, st.documentType, st.anchoredAt)) {
          return check('ISSUER_SIGNATURE', 'VALID', 'SIGNED_BY_ISSUER', 'The document is signed with a key of the issuing authority that was valid when it was issued.', { signers });
        }
      }
      return check('ISSUER_SIGNATURE', 'INVALID', 'SIGNER_MISMATCH', `The document is signed by ${signers.join(', ')}, not by a key of the issuing authority valid when it was issued (it was anchored with ${st.issuer}).`, { signers, issuer: st.issuer });
    }

    documentInfo(integ, env) {
      const info = { targetHash: integ.targetHash, merkleRoot: integ.merkleRoot };
      if (env) Object.assign(info, { referenceNumber: env.referenceNumber, documentType: env.documentType, issuingCountry: env.issuingCountry, documentStore: env.store, chainId: env.chainId });
      return info;
    }

    verdict(status, checks, extra = {}) {
      return { status, checks, message: '', chainId: null, blockNumber: null, blockHash: null, source: 'bundle', document: {}, issuer: null, revocation: null, successor: null, ...extra };
    }
    finish(v) { v.message = overallMessage(v.status, v); return v; }

    offline(w, integ, env) {
      const checks = [this.integrityCheck(integ)];
      const why = 'Not checked: offline verification reads no network.';
      checks.push(check('DOCUMENT_STATUS', 'SKIPPED', 'OFFLINE', why), check('ISSUER_IDENTITY', 'SKIPPED', 'OFFLINE', why));
      const sig = integ.ok ? this.signatureCheck(w, null) : null;
      if (sig) checks.push(sig);
      let status = integ.code === 'MALFORMED' ? 'MALFORMED' : !integ.ok ? 'TAMPERED' : 'INTEGRITY_ONLY';
      if (sig && sig.status === 'INVALID') status = 'TAMPERED';
      return this.finish(this.verdict(status, checks, { source: 'offline', document: this.documentInfo(integ, env) }));
    }

    error(w, integ, env, reason, net = null, block = null, blockHash = null) {
      const checks = [this.integrityCheck(integ)];
      const status = !integ.ok ? (integ.code === 'MALFORMED' ? 'MALFORMED' : 'TAMPERED') : 'ERROR';
      const msg = `The status could not be read: ${reason}. Do not accept the document until it can be checked.`;
      checks.push(check('DOCUMENT_STATUS', 'ERROR', 'STATUS_UNREADABLE', msg), check('ISSUER_IDENTITY', 'ERROR', 'STATUS_UNREADABLE', msg));
      return this.finish(this.verdict(status, checks, { chainId: net ? net.chainId : null, blockNumber: block, blockHash, document: this.documentInfo(integ, env) }));
    }

    verifyMany(docs) {
      if (docs.length > MAX_DOCUMENTS) throw new Error(`${docs.length} documents; at most ${MAX_DOCUMENTS} per verification`);
      const prepared = docs.map((d) => this.prepare(d));
      if (this.source === null) return prepared.map(([w, i, e]) => this.offline(w, i, e));
      let net;
      try { net = this.source.network(); } catch (e) {
        if (!(e instanceof SourceError)) throw e;
        return prepared.map(([w, i, env]) => this.error(w, i, env, e.message));
      }
      const ours = [];
      prepared.forEach(([, integ, env], i) => { if (integ.ok && env && Verifier.networkProblem(env, net) === null) ours.push(i); });
      const queries = ours.map((i) => [prepared[i][2].store, prepared[i][1].merkleRoot, prepared[i][1].targetHash, prepared[i][1].proof]);
      let block, blockHash, found;
      try { [block, blockHash, found] = this.source.read(queries); } catch (e) {
        if (!(e instanceof SourceError)) throw e;
        return prepared.map(([w, i, env]) => this.error(w, i, env, e.message, net));
      }
      const statuses = new Map(ours.map((i, k) => [i, found[k]]));
      return prepared.map(([w, integ, env], i) => {
        try { return this.judge(w, integ, env, net, block, blockHash, statuses.get(i)); } catch (e) {
          if (!(e instanceof SourceError)) throw e;
          return this.error(w, integ, env, e.message, net, block, blockHash);
        }
      });
    }

    judge(w, integ, env, net, block, blockHash, st) {
      const v = this.verdict('VALID', [this.integrityCheck(integ)], { chainId: net.chainId, blockNumber: block, blockHash, document: this.documentInfo(integ, env) });
      if (!integ.ok || !env) {
        let why;
        if (integ.ok) { v.status = 'MALFORMED'; why = "Not checked: the document's data could not be read."; }
        else if (integ.code === 'MALFORMED') { v.status = 'MALFORMED'; why = 'Not checked: the document could not be read.'; }
        else { v.status = 'TAMPERED'; why = 'Not checked: the document was altered, so its status says nothing about this copy.'; }
        v.checks.push(check('DOCUMENT_STATUS', 'SKIPPED', 'NOT_CHECKED', why), check('ISSUER_IDENTITY', 'SKIPPED', 'NOT_CHECKED', why));
        return this.finish(v);
      }
      const problem = Verifier.networkProblem(env, net);
      const notHere = (msg) => {
        v.status = 'WRONG_NETWORK';
        v.checks.push(check('DOCUMENT_STATUS', 'SKIPPED', 'NETWORK_NOT_CONFIGURED', msg, { documentStore: env.store, chainId: env.chainId }), check('ISSUER_IDENTITY', 'SKIPPED', 'NETWORK_NOT_CONFIGURED', msg));
        const sig = this.signatureCheck(w, null);
        if (sig) v.checks.push(sig);
        return this.finish(v);
      };
      if (problem !== null) return notHere(`Not checked here: ${problem}.`);
      if (st.unproven) throw new SourceError(st.unproven);
      if (!st.storeRegistered) {
        const claims = env.identityType === CERTNET_IDENTITY && env.identityLocation !== null && env.identityLocation.toLowerCase() === net.issuerRegistry.toLowerCase();
        if (claims) {
          const msg = `The document names document store ${env.store}, which is not the store of any issuing authority registered on ${net.name}.`;
          v.status = 'UNAUTHORIZED_ISSUER';
          v.checks.push(check('DOCUMENT_STATUS', 'INVALID', 'UNKNOWN_STORE', msg, { documentStore: env.store }), check('ISSUER_IDENTITY', 'INVALID', 'UNKNOWN_STORE', msg, { documentStore: env.store }));
          return this.finish(v);
        }
        return notHere(`Not checked here: its document store ${env.store} is not a store of the network configured here (${net.name}, chain ${net.chainId}).`);
      }
      v.checks.push(this.statusCheck(v, st, net, block));
      if (st.issued) {
        v.issuer = { address: st.issuer, store: st.store, country: st.country, name: this.source.authorityName(st.store) };
        v.checks.push(this.identityCheck(env, st, net));
        const sig = this.signatureCheck(w, st);
        if (sig) v.checks.push(sig);
      } else v.checks.push(check('ISSUER_IDENTITY', 'SKIPPED', 'NOT_ISSUED', 'Not checked: the document was never issued.'));
      v.status = !st.issued ? 'NOT_ISSUED' : st.revoked ? 'REVOKED' : st.superseded ? 'SUPERSEDED'
        : v.checks.some((c) => (c.type === 'ISSUER_IDENTITY' || c.type === 'ISSUER_SIGNATURE') && c.status === 'INVALID') ? 'UNAUTHORIZED_ISSUER' : 'VALID';
      return this.finish(v);
    }

    statusCheck(v, st, net, block) {
      const details = { documentStore: st.store, chainId: net.chainId, block };
      if (!st.issued) return check('DOCUMENT_STATUS', 'INVALID', 'NOT_ISSUED', `This document was never issued on ${net.name}: its fingerprint is not in its issuing authority's document store (checked at block ${block}).`, details);
      Object.assign(details, { anchoredBlock: st.anchoredBlock, anchoredAt: st.anchoredAt, anchoredAtUtc: utc(st.anchoredAt), batchSize: st.documentCount });
      if (st.revoked) {
        const reason = CONFIG.reasons[st.revocationReason] || `CODE_${st.revocationReason}`;
        const text = CONFIG.reasonSentences[reason] || `reason code ${st.revocationReason}`;
        v.revocation = { reason, reasonCode: st.revocationReason, reasonText: text, revokedAt: st.revokedAt, revokedAtUtc: utc(st.revokedAt), block: st.revokedBlock, wholeBatch: st.rootRevoked, revokedHash: st.revokedHash ? st.revokedHash.slice(2) : null, revokedBy: st.revokedBy };
        const scope = st.rootRevoked ? 'together with its whole batch' : st.revokedLevel === 3 ? 'together with part of its batch' : 'individually';
        return check('DOCUMENT_STATUS', 'INVALID', 'REVOKED', `The issuing authority revoked this document ${scope} on ${utc(st.revokedAt)} (block ${st.revokedBlock}) because ${text}.`, { ...details, ...v.revocation });
      }
      if (st.superseded) {
        const s = st.successor;
        v.successor = { documentStore: checksum(s.store), root: s.root.slice(2), document: s.document.slice(2), supersededAt: s.at, supersededAtUtc: utc(s.at) };
        return check('DOCUMENT_STATUS', 'INVALID', 'SUPERSEDED', `This document was replaced on ${utc(s.at)} by another certificate (document ${s.document.slice(2)}); ask for the replacement.`, { ...details, ...v.successor });
      }
      return check('DOCUMENT_STATUS', 'VALID', 'ISSUED', `Issued on ${net.name} in block ${st.anchoredBlock} on ${utc(st.anchoredAt)}; not revoked (checked at block ${block}).`, details);
    }

    identityCheck(env, st, net) {
      const name = this.source.authorityName(st.store) || st.store;
      const details = { issuer: st.issuer, documentStore: st.store, country: st.country, name, anchoredType: st.documentType, anchoredAtUtc: utc(st.anchoredAt) };
      const hidden = env.identityLocation === null;
      if (env.identityType === CERTNET_IDENTITY && !hidden && env.identityLocation.toLowerCase() !== net.issuerRegistry.toLowerCase()) {
        return check('ISSUER_IDENTITY', 'INVALID', 'WRONG_ISSUER_REGISTRY', `The document names issuer registry ${env.identityLocation}, not this network's ${net.issuerRegistry}.`, details);
      }
      if (env.issuingCountry !== null && env.issuingCountry !== st.country) {
        return check('ISSUER_IDENTITY', 'INVALID', 'COUNTRY_MISMATCH', `The document says it was issued in ${env.issuingCountry}, but its document store belongs to ${name}, an issuing authority of ${st.country}.`, details);
      }
      if (env.documentType in CONFIG.documentTypes && CONFIG.documentTypes[env.documentType] !== st.documentType) {
        return check('ISSUER_IDENTITY', 'INVALID', 'TYPE_MISMATCH', `The document is a ${env.documentType} but was anchored as document type ${st.documentType}.`, details);
      }
      if (!st.issuerAuthorised) {
        return check('ISSUER_IDENTITY', 'INVALID', 'ISSUER_NOT_AUTHORISED', `${name} (${st.country}) was not authorised to issue this type of document on ${utc(st.anchoredAt)}: the key that anchored it was suspended, retired, outside its validity or compromised then, or its country was not a member.`, details);
      }
      return check('ISSUER_IDENTITY', 'VALID', 'AUTHORISED_ISSUER', `Issued by ${name} (${st.country}), authorised for this document type at the time of issue.`, details);
    }
  }

  // ---------------------------------------------------------------- verify_with_bundle
  function ageText(s) {
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.floor(s / 60)} min`;
    if (s < 172800) return `${Math.floor(s / 3600)} h`;
    return `${Math.floor(s / 86400)} days`;
  }

  function otherNetwork(v, problem) {
    v.source = 'bundle';
    v.bundle = null;
    if (v.status !== 'INTEGRITY_ONLY') return v;
    const msg = `Not checked: ${problem}.`;
    v.checks = v.checks.filter((c) => c.type !== 'DOCUMENT_STATUS' && c.type !== 'ISSUER_IDENTITY');
    v.checks.splice(1, 0, check('DOCUMENT_STATUS', 'SKIPPED', 'BUNDLE_OTHER_NETWORK', msg), check('ISSUER_IDENTITY', 'SKIPPED', 'BUNDLE_OTHER_NETWORK', msg));
    v.status = 'WRONG_NETWORK';
    v.message = `The bundle belongs to another network than the trust root: ${problem}. Its status is unknown here.`;
    return v;
  }

  /**
   * Verify documents (texts or parsed) against a bundle and a trust root (texts or parsed): the verdicts
   * `certnet verify --bundle` gives. A bundle or trust root that cannot be read gives {refused: reason}.
   */
  function verifyWithBundle(documents, bundleIn, trustIn, options = {}) {
    const maxAge = options.maxAge === undefined ? CONFIG.defaultMaxAge : options.maxAge;
    const now = options.now === undefined ? Date.now() / 1000 : options.now;
    let bundle, trust;
    try {
      trust = parseTrustRoot(typeof trustIn === 'string' ? JSON.parse(trustIn) : trustIn);
      bundle = parseBundle(typeof bundleIn === 'string' ? JSON.parse(bundleIn) : bundleIn);
    } catch (e) {
      if (e instanceof BundleError || e instanceof SyntaxError) return { refused: e.message };
      throw e;
    }
    const problem = networkProblem(bundle, trust);
    if (problem !== null) return { verdicts: new Verifier(null).verifyMany(documents).map((v) => otherNetwork(v, problem)) };
    const source = new BundleSource(bundle, trust);
    const verdicts = new Verifier(source).verifyMany(documents);
    const c = source.checkedBundle;
    const info = c === null ? null : {
      block: c.chain.target.number, blockHash: c.blockHash, blockTime: c.chain.target.time, blockTimeUtc: utc(c.chain.target.time),
      ageSeconds: Math.floor(now) - c.chain.target.time, maxAgeSeconds: Math.floor(maxAge), stale: Math.floor(now) - c.chain.target.time > maxAge,
      engine: trust.engine, validators: c.chain.validators, sealedBy: c.chain.endorsedBy, network: trust.name, chainId: trust.chainId,
    };
    for (const v of verdicts) {
      v.bundle = info;
      if (!info) continue;
      const age = ageText(Math.max(0, info.ageSeconds));
      const st = v.checks.find((x) => x.type === 'DOCUMENT_STATUS');
      if (st) Object.assign(st.details, { blockTimeUtc: info.blockTimeUtc, bundleAgeSeconds: info.ageSeconds });
      if (info.stale && (v.status === 'VALID' || v.status === 'NOT_ISSUED')) {
        const text = `The bundle's block ${info.block} is ${age} old (${info.blockTimeUtc}), older than the ${ageText(Math.floor(maxAge))} allowed: what it proves may have changed since. Get a newer bundle.`;
        v.status = 'ERROR';
        if (st) Object.assign(st, { status: 'ERROR', code: 'BUNDLE_TOO_OLD', message: text });
        v.message = text;
      } else {
        v.message = overallMessage(v.status, v) + ` (as of block ${info.block}, ${info.blockTimeUtc}, ${age} ago, from a bundle sealed by the validators)`;
      }
    }
    return { verdicts };
  }

  /** Chain checks on hex headers, for tests: {ok: {validators, endorsedBy, hash, number}} or {error: message}. */
  function checkChain(engine, headersHex, genesisHash, validators, target, epoch = 30000, period = 0) {
    try {
      const headers = headersHex.map((h, i) => Header.decode(h, `headers.${i}`));
      const vs = validators.map((v) => v.toLowerCase());
      const c = engine === 'clique' ? checkCliqueChain(headers, genesisHash, vs, epoch, period, target) : checkQbftChain(headers, genesisHash, vs, target);
      return { ok: { validators: c.validators, endorsedBy: c.endorsedBy, hash: c.hash, number: c.target.number } };
    } catch (e) {
      if (e instanceof ChainProofError) return { error: e.message };
      throw e;
    }
  }

  /** The verdicts from proof nodes against a state root whose header is taken as checked (for tests of the
   *  state part on a node that seals nothing, as tests/test_bundles_state.py does in Python). */
  function verifyWithState(documents, stateRoot, nodes, trustIn, block, blockHash) {
    const trust = parseTrustRoot(trustIn);
    const source = new BundleSource(null, trust);
    const target = { number: block, time: 0, stateRoot: stateRoot.toLowerCase() };
    source.checkedBundle = { chain: { target, validators: [], endorsedBy: [] }, state: new ProvenState(target.stateRoot, nodes.map((n) => n.toLowerCase())), blockHash };
    return new Verifier(source).verifyMany(documents);
  }

  window.certnetOffline = { verifyWithBundle, checkIntegrity, checkChain, verifyWithState };

  // ---------------------------------------------------------------- the page
  const form = document.getElementById('offline-form');
  if (!form) return;
  const out = document.getElementById('offline-results');
  const readText = (file) => new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsText(file);
  });
  const el = (tag, attrs = {}, text) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const TONE = { VALID: 'ok', INTEGRITY_ONLY: 'warn', SKIPPED: 'skip', ERROR: 'warn', WRONG_NETWORK: 'warn' };

  function show(result, names) {
    out.replaceChildren();
    out.hidden = false;
    if (result.refused) {
      const box = el('div', { class: 'alert tone-bad', role: 'alert', id: 'offline-refused', 'data-status': 'REFUSED' });
      box.textContent = `The bundle or the trust root cannot be used: ${result.refused}`;
      out.append(box);
      out.dataset.done = 'refused';
      return;
    }
    result.verdicts.forEach((v, i) => {
      const st = v.checks.find((c) => c.type === 'DOCUMENT_STATUS');
      const card = el('section', { class: `card verdict tone-${TONE[v.status] || 'bad'}`, 'data-status': v.status, 'data-code': st ? st.code : '', 'data-file': names[i] || '' });
      card.classList.add('offline-verdict');
      card.append(el('h2', {}, `${names[i] || 'Document'}: ${v.status.replace(/_/g, ' ')}`), el('p', { class: 'verdict-message' }, v.message));
      const list = el('ul', { class: 'checks' });
      for (const c of v.checks) {
        const li = el('li', { class: `check tone-${TONE[c.status] || 'bad'}`, 'data-type': c.type, 'data-status': c.status, 'data-code': c.code });
        li.append(el('strong', {}, `${c.type.replace(/_/g, ' ').toLowerCase()}: `), document.createTextNode(c.message));
        list.append(li);
      }
      card.append(list);
      if (v.bundle) {
        const b = v.bundle;
        const info = el('p', { class: 'hint bundle-info', 'data-block': String(b.block), 'data-age': String(b.ageSeconds) });
        info.textContent = `Proven at block ${b.block} of ${b.network} (chain ${b.chainId}), ${b.blockTimeUtc}, ${ageText(Math.max(0, b.ageSeconds))} ago; sealed by ${b.sealedBy.length} of the ${b.validators.length} validators. No server was asked.`;
        card.append(info);
      }
      out.append(card);
    });
    out.dataset.done = 'verdicts';
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    out.dataset.done = '';
    const docs = Array.from(document.getElementById('offline-documents').files || []);
    const bundleFile = (document.getElementById('offline-bundle').files || [])[0];
    const trustFile = (document.getElementById('offline-trust').files || [])[0];
    const error = document.getElementById('offline-error');
    if (!docs.length || !bundleFile || !trustFile) {
      error.textContent = 'Choose the document file(s), the bundle and the trust root.';
      error.hidden = false;
      return;
    }
    error.hidden = true;
    const field = document.getElementById('offline-max-age').value.trim();
    const hours = field === '' ? NaN : Number(field);
    const maxAge = Number.isFinite(hours) && hours >= 0 ? hours * 3600 : CONFIG.defaultMaxAge;
    try {
      const texts = await Promise.all(docs.map(readText));
      const result = verifyWithBundle(texts, await readText(bundleFile), await readText(trustFile), { maxAge });
      show(result, docs.map((f) => f.name));
    } catch (e) {
      error.textContent = `The verification failed: ${e.message}`;
      error.hidden = false;
    }
  });
})();
