//! certnet's native core: the hot loops of the OpenAttestation v2 proof format.
//!
//! The Python package `verifier` (salting.py) is the reference and handles everything; this
//! module does the common case faster and hands anything unusual back to it:
//!
//! * `salt_and_digest(raw, uuid_factory)` salts a raw document and returns
//!   `(salted, target_hash_hex)`; `salt_and_digest_json` the same with the salted data as JSON bytes;
//! * `salted_digest(data, obfuscated)` checks that every leaf of salted data is a well-formed
//!   salt and returns the targetHash hex of the data plus the obfuscated hashes.
//!
//! They return `None` when the document holds anything outside the fast path (a key with '.',
//! nesting deeper than `MAX_DEPTH`, an integer beyond 2^53 - 1, a lone surrogate, a subclass of a
//! JSON type, a malformed salt, ...): the caller then runs the Python reference, which either
//! handles the case or raises the error that names the path. So this module never decides an
//! error message and never accepts what the reference would refuse.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha12Rng;
use tiny_keccak::{Hasher, Keccak};

/// Deepest nesting accepted (the top-level object is level 1); as verifier.salting.MAX_DEPTH.
const MAX_DEPTH: usize = 64;
/// Number.MAX_SAFE_INTEGER.
const MAX_SAFE: i64 = 9_007_199_254_740_991;
/// Longest salted number text the reference reads.
const MAX_NUMBER_TEXT: usize = 400;

/// Why a walk stopped early.
enum Stop {
    /// Outside the fast path: let the Python reference decide.
    Fallback,
    /// A Python exception (from the uuid factory, or memory).
    Py(PyErr),
}

impl From<PyErr> for Stop {
    fn from(e: PyErr) -> Self {
        Stop::Py(e)
    }
}

type Walk<T> = Result<T, Stop>;

fn keccak(data: &[u8]) -> [u8; 32] {
    let mut k = Keccak::v256();
    k.update(data);
    let mut out = [0u8; 32];
    k.finalize(&mut out);
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex64(h: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (i, b) in h.iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// Append `s` as JSON.stringify writes a string: `"` and `\` escaped, \b \f \n \r \t, other
/// control characters as \u00xx (lowercase hex), everything else as is (Rust strings hold no
/// lone surrogates, so none need escaping).
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 15) as usize]);
        } else {
            out.extend_from_slice(esc);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Leaf hash (hex): keccak256 of `{"<path>":<json_value>}`, written into the scratch buffer `leaf`.
fn leaf_hash(leaf: &mut Vec<u8>, path: &str, json_value: &[u8]) -> [u8; 64] {
    leaf.clear();
    leaf.push(b'{');
    push_json_str(leaf, path);
    leaf.push(b':');
    leaf.extend_from_slice(json_value);
    leaf.push(b'}');
    hex64(&keccak(leaf))
}

/// targetHash: keccak256 of the compact JSON array of the hex hashes sorted as strings.
fn target_hex(mut hexes: Vec<[u8; 64]>) -> String {
    hexes.sort_unstable();
    let mut text = Vec::with_capacity(hexes.len() * 67 + 2);
    text.push(b'[');
    for (i, h) in hexes.iter().enumerate() {
        if i > 0 {
            text.push(b',');
        }
        text.push(b'"');
        text.extend_from_slice(h);
        text.push(b'"');
    }
    text.push(b']');
    let h = hex64(&keccak(&text));
    String::from_utf8(h.to_vec()).expect("hex is ASCII")
}

// ------------------------------------------------------------------------------------------
// salts

/// Source of salts: random UUID v4 from ChaCha12 seeded by the operating system for each
/// document (no state outlives a call, so a forked process never repeats its parent's salts),
/// or a Python callable (deterministic tests).
struct Salts<'py> {
    factory: Option<Bound<'py, PyAny>>,
    rng: Option<ChaCha12Rng>,
    pool: [u8; POOL],
    used: usize,
}

const POOL: usize = 16 * 64;

impl<'py> Salts<'py> {
    fn new(factory: Option<Bound<'py, PyAny>>) -> Self {
        Salts { factory, rng: None, pool: [0u8; POOL], used: POOL }
    }

    /// Append one salt (36 characters for a UUID) to `out`.
    fn push(&mut self, out: &mut String) -> Walk<()> {
        if let Some(f) = &self.factory {
            let v = f.call0()?;
            let s = v.downcast_exact::<PyString>().map_err(|_| Stop::Fallback)?;
            out.push_str(s.to_str().map_err(|_| Stop::Fallback)?);
            return Ok(());
        }
        if self.used == POOL {
            if self.rng.is_none() {
                let rng = ChaCha12Rng::from_rng(rand_chacha::rand_core::OsRng)
                    .map_err(|e| Stop::Py(pyo3::exceptions::PyOSError::new_err(e.to_string())))?;
                self.rng = Some(rng);
            }
            self.rng.as_mut().expect("seeded above").fill_bytes(&mut self.pool);
            self.used = 0;
        }
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.pool[self.used..self.used + 16]);
        self.used += 16;
        b[6] = (b[6] & 0x0f) | 0x40; // version 4
        b[8] = (b[8] & 0x3f) | 0x80; // variant 10xx
        let mut text = [0u8; 36];
        let mut j = 0;
        for (i, byte) in b.iter().enumerate() {
            if i == 4 || i == 6 || i == 8 || i == 10 {
                text[j] = b'-';
                j += 1;
            }
            text[j] = HEX[(byte >> 4) as usize];
            text[j + 1] = HEX[(byte & 15) as usize];
            j += 2;
        }
        out.push_str(std::str::from_utf8(&text).expect("hex is ASCII"));
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// salting

struct Salter<'py> {
    py: Python<'py>,
    salts: Salts<'py>,
    /// dotted path of the value being salted
    path: String,
    /// the salted text of the current leaf, and the same as a JSON string
    value: String,
    quoted: Vec<u8>,
    /// the current leaf's `{"<path>":<value>}`
    leaf: Vec<u8>,
    hashes: Vec<[u8; 64]>,
    number: ryu_js::Buffer,
    /// the salted data as JSON, when writing JSON rather than Python objects
    json: Option<Vec<u8>>,
}

impl<'py> Salter<'py> {
    /// Hash the leaf `{"<path>":<json>}` where `json` is the already written JSON value.
    fn hash_leaf(&mut self, json_value: &[u8]) {
        self.hashes.push(leaf_hash(&mut self.leaf, &self.path, json_value));
    }

    /// Salt `v` at `self.path`: its salted form as a new Python object, or `None` when writing JSON
    /// (`self.json`), where it has been appended instead.
    fn salt(&mut self, v: &Bound<'py, PyAny>, depth: usize) -> Walk<Option<Bound<'py, PyAny>>> {
        self.value.clear();
        if let Ok(s) = v.downcast_exact::<PyString>() {
            let text = s.to_str().map_err(|_| Stop::Fallback)?;
            self.salts.push(&mut self.value)?;
            self.value.push_str(":string:");
            self.value.push_str(text);
        } else if let Ok(d) = v.downcast_exact::<PyDict>() {
            if d.is_empty() {
                self.hash_leaf(b"{}");
                let py = self.py;
                return Ok(self.empty(b"{}", || PyDict::new(py).into_any()));
            }
            return Ok(self.salt_dict(d, depth + 1, false)?.map(Bound::into_any));
        } else if let Ok(l) = v.downcast_exact::<PyList>() {
            if l.is_empty() {
                self.hash_leaf(b"[]");
                let py = self.py;
                return Ok(self.empty(b"[]", || PyList::empty(py).into_any()));
            }
            return Ok(self.salt_list(l, depth + 1)?.map(Bound::into_any));
        } else if v.is_exact_instance_of::<PyBool>() {
            let t = v.downcast_exact::<PyBool>().map_err(|_| Stop::Fallback)?.is_true();
            self.salts.push(&mut self.value)?;
            self.value.push_str(if t { ":boolean:true" } else { ":boolean:false" });
        } else if v.is_exact_instance_of::<PyInt>() {
            let i: i64 = v.extract().map_err(|_| Stop::Fallback)?;
            if !(-MAX_SAFE..=MAX_SAFE).contains(&i) {
                return Err(Stop::Fallback);
            }
            self.salts.push(&mut self.value)?;
            self.value.push_str(":number:");
            self.value.push_str(i.to_string().as_str());
        } else if let Ok(f) = v.downcast_exact::<PyFloat>() {
            let x = f.value();
            if !x.is_finite() {
                return Err(Stop::Fallback);
            }
            self.salts.push(&mut self.value)?;
            self.value.push_str(":number:");
            if x == 0.0 {
                self.value.push('0'); // String(-0) is "0"
            } else {
                let text = self.number.format_finite(x);
                self.value.push_str(text);
            }
        } else if v.is_none() {
            self.salts.push(&mut self.value)?;
            self.value.push_str(":null:null");
        } else {
            return Err(Stop::Fallback);
        }
        let mut json = std::mem::take(&mut self.quoted);
        json.clear();
        push_json_str(&mut json, &self.value);
        self.hash_leaf(&json);
        let result = match &mut self.json {
            Some(out) => {
                out.extend_from_slice(&json);
                None
            }
            None => Some(PyString::new(self.py, &self.value).into_any()),
        };
        self.quoted = json;
        Ok(result)
    }

    /// An empty container: appended as JSON, or made by `make`.
    fn empty(&mut self, json: &[u8], make: impl FnOnce() -> Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
        match &mut self.json {
            Some(out) => {
                out.extend_from_slice(json);
                None
            }
            None => Some(make()),
        }
    }

    fn push_json(&mut self, bytes: &[u8]) {
        if let Some(out) = &mut self.json {
            out.extend_from_slice(bytes);
        }
    }

    fn salt_dict(&mut self, obj: &Bound<'py, PyDict>, depth: usize, root: bool) -> Walk<Option<Bound<'py, PyDict>>> {
        if depth > MAX_DEPTH {
            return Err(Stop::Fallback);
        }
        let out = if self.json.is_none() { Some(PyDict::new(self.py)) } else { None };
        self.push_json(b"{");
        let base = self.path.len();
        for (i, (k, v)) in obj.iter().enumerate() {
            let ks = k.downcast_exact::<PyString>().map_err(|_| Stop::Fallback)?;
            let key = ks.to_str().map_err(|_| Stop::Fallback)?;
            if key.contains('.') {
                return Err(Stop::Fallback);
            }
            if let Some(buf) = &mut self.json {
                if i > 0 {
                    buf.push(b',');
                }
                push_json_str(buf, key);
                buf.push(b':');
            }
            if !root {
                self.path.push('.');
            }
            self.path.push_str(key);
            let salted = self.salt(&v, depth)?;
            self.path.truncate(base);
            if let (Some(o), Some(sv)) = (&out, salted) {
                o.set_item(k, sv)?;
            }
        }
        self.push_json(b"}");
        Ok(out)
    }

    fn salt_list(&mut self, arr: &Bound<'py, PyList>, depth: usize) -> Walk<Option<Bound<'py, PyList>>> {
        if depth > MAX_DEPTH {
            return Err(Stop::Fallback);
        }
        let out = if self.json.is_none() { Some(PyList::empty(self.py)) } else { None };
        self.push_json(b"[");
        let base = self.path.len();
        for (i, v) in arr.iter().enumerate() {
            if i > 0 {
                self.push_json(b",");
            }
            self.path.push('.');
            self.path.push_str(i.to_string().as_str());
            let salted = self.salt(&v, depth)?;
            self.path.truncate(base);
            if let (Some(o), Some(sv)) = (&out, salted) {
                o.append(sv)?;
            }
        }
        self.push_json(b"]");
        Ok(out)
    }
}

/// A raw document's top level, checked as the reference checks it (an empty key may hold only a
/// primitive here; the reference handles the rest).
fn fast_root<'a, 'py>(raw: &'a Bound<'py, PyAny>) -> PyResult<Option<&'a Bound<'py, PyDict>>> {
    let Ok(doc) = raw.downcast_exact::<PyDict>() else {
        return Ok(None);
    };
    if let Some(v) = doc.get_item("")? {
        if !(v.is_exact_instance_of::<PyString>() || v.is_none()) {
            return Ok(None);
        }
    }
    Ok(Some(doc))
}

fn salter<'py>(py: Python<'py>, uuid_factory: Option<Bound<'py, PyAny>>, json: bool) -> Salter<'py> {
    Salter {
        py,
        salts: Salts::new(uuid_factory),
        path: String::with_capacity(64),
        value: String::with_capacity(128),
        quoted: Vec::with_capacity(160),
        leaf: Vec::with_capacity(256),
        hashes: Vec::with_capacity(128),
        number: ryu_js::Buffer::new(),
        json: if json { Some(Vec::with_capacity(8192)) } else { None },
    }
}

/// Salt `raw` as Python objects or as JSON (`json`): the salter after the walk, or `None` when the
/// document needs the Python reference.
fn salt_root<'py>(
    py: Python<'py>,
    raw: &Bound<'py, PyAny>,
    uuid_factory: Option<Bound<'py, PyAny>>,
    json: bool,
) -> PyResult<Option<(Salter<'py>, Option<Bound<'py, PyDict>>)>> {
    let Some(doc) = fast_root(raw)? else {
        return Ok(None);
    };
    let mut s = salter(py, uuid_factory, json);
    match s.salt_dict(doc, 1, true) {
        Ok(salted) => Ok(Some((s, salted))),
        Err(Stop::Fallback) => Ok(None),
        Err(Stop::Py(e)) => Err(e),
    }
}

/// Salt a raw document and compute its targetHash: `(salted, target_hash_hex)`, or `None` when
/// the document needs the Python reference (see the module documentation).
#[pyfunction]
#[pyo3(signature = (raw, uuid_factory=None))]
fn salt_and_digest<'py>(
    py: Python<'py>,
    raw: &Bound<'py, PyAny>,
    uuid_factory: Option<Bound<'py, PyAny>>,
) -> PyResult<Option<(Bound<'py, PyDict>, String)>> {
    Ok(salt_root(py, raw, uuid_factory, false)?.map(|(s, salted)| {
        (salted.expect("built as Python objects"), target_hex(s.hashes))
    }))
}

/// As `salt_and_digest`, with the salted data as compact UTF-8 JSON instead of Python objects:
/// `(salted_json_bytes, target_hash_hex)`, or `None` for the Python reference.
#[pyfunction]
#[pyo3(signature = (raw, uuid_factory=None))]
fn salt_and_digest_json<'py>(
    py: Python<'py>,
    raw: &Bound<'py, PyAny>,
    uuid_factory: Option<Bound<'py, PyAny>>,
) -> PyResult<Option<(Bound<'py, PyBytes>, String)>> {
    Ok(salt_root(py, raw, uuid_factory, true)?.map(|(s, _)| {
        (PyBytes::new(py, s.json.as_deref().expect("written as JSON")), target_hex(s.hashes))
    }))
}

// ------------------------------------------------------------------------------------------
// checking salted data

/// True when `t` is `<uuid v4>:<type>:<text>` with a readable text for its type (as the
/// reference's unsalt_value accepts).
fn well_salted(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() < 37 {
        return false;
    }
    for (i, &c) in b[..36].iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => c == b'-',
            14 => c == b'4',
            19 => matches!(c, b'8' | b'9' | b'a' | b'b' | b'A' | b'B'),
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    if b[36] != b':' {
        return false;
    }
    let rest = &t[37..];
    if rest.starts_with("string:") {
        true
    } else if let Some(text) = rest.strip_prefix("number:") {
        readable_number(text)
    } else if let Some(text) = rest.strip_prefix("boolean:") {
        text == "true" || text == "false"
    } else if let Some(text) = rest.strip_prefix("null:") {
        text == "null"
    } else {
        false
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` that reads as a finite double.
fn readable_number(text: &str) -> bool {
    if text.len() > MAX_NUMBER_TEXT {
        return false;
    }
    let b = text.as_bytes();
    let mut i = 0;
    if i < b.len() && b[i] == b'-' {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    if i < b.len() && b[i] == b'0' {
        i += 1;
    } else if i < b.len() && b[i].is_ascii_digit() {
        digits(&mut i);
    } else {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len() && text.parse::<f64>().map(f64::is_finite).unwrap_or(false)
}

struct Checker {
    path: String,
    leaf: Vec<u8>,
    hashes: Vec<[u8; 64]>,
}

impl Checker {
    fn hash_leaf(&mut self, json_value: &[u8]) {
        self.hashes.push(leaf_hash(&mut self.leaf, &self.path, json_value));
    }

    fn node(&mut self, v: &Bound<'_, PyAny>, depth: usize) -> Walk<()> {
        if let Ok(s) = v.downcast_exact::<PyString>() {
            let text = s.to_str().map_err(|_| Stop::Fallback)?;
            if !well_salted(text) {
                return Err(Stop::Fallback);
            }
            let mut json = Vec::with_capacity(text.len() + 8);
            push_json_str(&mut json, text);
            self.hash_leaf(&json);
            return Ok(());
        }
        if depth > MAX_DEPTH {
            return Err(Stop::Fallback);
        }
        if let Ok(d) = v.downcast_exact::<PyDict>() {
            if d.is_empty() {
                self.hash_leaf(b"{}");
                return Ok(());
            }
            self.dict(d, depth, false)
        } else if let Ok(l) = v.downcast_exact::<PyList>() {
            if l.is_empty() {
                self.hash_leaf(b"[]");
                return Ok(());
            }
            let base = self.path.len();
            for (i, item) in l.iter().enumerate() {
                self.path.push('.');
                self.path.push_str(i.to_string().as_str());
                self.node(&item, depth + 1)?;
                self.path.truncate(base);
            }
            Ok(())
        } else {
            Err(Stop::Fallback)
        }
    }

    fn dict(&mut self, d: &Bound<'_, PyDict>, depth: usize, root: bool) -> Walk<()> {
        let base = self.path.len();
        for (k, v) in d.iter() {
            let ks = k.downcast_exact::<PyString>().map_err(|_| Stop::Fallback)?;
            let key = ks.to_str().map_err(|_| Stop::Fallback)?;
            if key.contains('.') {
                return Err(Stop::Fallback);
            }
            if !root {
                self.path.push('.');
            }
            self.path.push_str(key);
            self.node(&v, depth + 1)?;
            self.path.truncate(base);
        }
        Ok(())
    }
}

/// targetHash hex of salted `data` plus `obfuscated` hashes (64 lowercase hex each, already
/// checked by the caller), or `None` when the data needs the Python reference: a leaf that is
/// not a well-formed salt, a key with '.', nesting deeper than `MAX_DEPTH`, ...
#[pyfunction]
fn salted_digest(data: &Bound<'_, PyAny>, obfuscated: &Bound<'_, PyList>) -> PyResult<Option<String>> {
    let Ok(doc) = data.downcast_exact::<PyDict>() else {
        return Ok(None);
    };
    if let Some(v) = doc.get_item("")? {
        if !v.is_exact_instance_of::<PyString>() {
            return Ok(None);
        }
    }
    let mut c = Checker { path: String::with_capacity(64), leaf: Vec::with_capacity(256), hashes: Vec::with_capacity(128) };
    match c.dict(doc, 1, true) {
        Ok(()) => {}
        Err(Stop::Fallback) => return Ok(None),
        Err(Stop::Py(e)) => return Err(e),
    }
    for h in obfuscated.iter() {
        let Ok(s) = h.downcast_exact::<PyString>() else {
            return Ok(None);
        };
        let text = s.to_str().map_err(|_| pyo3::exceptions::PyValueError::new_err("bad hash"))?;
        let b = text.as_bytes();
        if b.len() != 64 || !b.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            return Ok(None);
        }
        let mut a = [0u8; 64];
        a.copy_from_slice(b);
        c.hashes.push(a);
    }
    Ok(Some(target_hex(c.hashes)))
}

/// keccak256 hex of `JSON.stringify(text)`-free bytes: exposed for tests of the native hasher.
#[pyfunction]
fn keccak256_hex(data: &[u8]) -> String {
    String::from_utf8(hex64(&keccak(data)).to_vec()).expect("hex is ASCII")
}

#[pymodule]
fn certnet_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(salt_and_digest, m)?)?;
    m.add_function(wrap_pyfunction!(salt_and_digest_json, m)?)?;
    m.add_function(wrap_pyfunction!(salted_digest, m)?)?;
    m.add_function(wrap_pyfunction!(keccak256_hex, m)?)?;
    m.add("MAX_DEPTH", MAX_DEPTH)?;
    Ok(())
}
