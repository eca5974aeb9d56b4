"""`certnet wrap | issue | obfuscate | revoke | samples | verify`: documents on the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from certnet import CertnetError
from certnet.cli.parser import TYPE_NAMES
from certnet.node.paths import data_dir
from certnet.verifier import jsonlimits
from certnet.verifier.jsjson import dump_bytes

MAX_FILE_BYTES = 5 * 1024 * 1024


class DocumentInputError(CertnetError):
    """A file given on the command line cannot be used; the message names the file (and field)."""


def _home(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else data_dir()


def collect_files(sources: list[str]) -> list[Path]:
    """JSON files named directly, or found (sorted, recursively) under named directories."""
    files: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            files += sorted(f for f in p.rglob("*.json") if f.is_file())
        elif p.is_file():
            files.append(p)
        else:
            raise DocumentInputError(f"{src}: no such file or directory")
    if not files:
        raise DocumentInputError("no JSON documents found in " + ", ".join(sources))
    names: dict[str, Path] = {}
    for f in files:
        if f.name in names:
            raise DocumentInputError(f"{f}: same file name as {names[f.name]} (outputs are written by file name)")
        names[f.name] = f
    return files


def read_json(path: Path, what: str = "document") -> Any:
    with open(path, "rb") as f:  # one open and read, no stat: wrap reads thousands of files
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise DocumentInputError(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    try:
        return jsonlimits.loads(data)
    except jsonlimits.JsonTooDeep as exc:
        raise DocumentInputError(f"{path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DocumentInputError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise DocumentInputError(f"{path}: not UTF-8 text") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise DocumentInputError(f"{path}: not readable JSON ({exc})") from None


def read_raw_documents(files: list[Path], doc_type: str | None) -> list[dict[str, Any]]:
    docs = []
    for f in files:
        data = read_json(f)
        if not isinstance(data, dict):
            raise DocumentInputError(f"{f}: a document must be a JSON object, found {type(data).__name__}")
        docs.append(data)
    if doc_type:  # the schemas (pydantic models) load only when asked for
        from certnet.issuer.schemas import SchemaValidationError, validate_document

        for f, data in zip(files, docs, strict=True):
            try:
                validate_document(data, doc_type)
            except SchemaValidationError as exc:
                raise DocumentInputError(f"{f}: {exc}") from None
    return docs


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_file(str(path), dump_bytes(obj, indent=True) + b"\n")


def write_documents(out: Path, files: list[Path], docs: list[Any]) -> None:
    """Each document to ``out/<its file's name>``, indented JSON (the directory made once)."""
    out.mkdir(parents=True, exist_ok=True)
    for f, doc in zip(files, docs, strict=True):
        _write_file(os.path.join(out, f.name), dump_bytes(doc, indent=True) + b"\n")


def _write_file(path: str, data: bytes) -> None:
    """``Path.write_bytes`` at a third of its cost (no Path, no buffered file object), for thousands of files."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


# ------------------------------------------------------------------ wrap


def cmd_wrap(args: argparse.Namespace) -> int:
    from certnet.verifier.wrap import wrap_documents

    files = collect_files(args.sources)
    docs = read_raw_documents(files, TYPE_NAMES.get(args.type) if args.type else None)
    from certnet.verifier.jsjson import ProofFormatError

    try:
        root, wrapped = wrap_documents(docs)
    except ProofFormatError as exc:
        raise DocumentInputError(f"cannot wrap: {exc}") from None
    write_documents(Path(args.out), files, wrapped)
    print(root)
    return 0


# ------------------------------------------------------------------ issue / revoke


def _signer(args: argparse.Namespace, key_name: str = "vn-issuer"):
    """(deployment, the issuer's transactor) from the command line or the local system's data dir."""
    from certnet.node import local
    from certnet.node.deploy import Deployment
    from certnet.node.engines import connect
    from certnet.node.keys import load_key
    from certnet.node.tx import Transactor
    from certnet.system.local import deployment_file, local_passphrase

    home = _home(args)
    deployment = Deployment.load(Path(args.deployment) if args.deployment else deployment_file(home))
    rpc = args.rpc or deployment.rpc_url
    if not rpc:
        info, _ = local.status(home)
        rpc = info.rpc_url if info else None
    if not rpc:
        raise DocumentInputError("no node: pass --rpc URL")
    w3 = connect(rpc)
    keystore = Path(args.keystore) if args.keystore else home / "keys" / f"{key_name}.json"
    return deployment, Transactor(w3, load_key(keystore, local_passphrase(home)))


def _pipeline(args: argparse.Namespace, key_name: str = "vn-issuer"):
    from certnet.issuer.outbox import open_database
    from certnet.issuer.pipeline import Pipeline, PipelineConfig

    deployment, signer = _signer(args, key_name)
    db = args.db or f"sqlite:///{_home(args) / 'outbox.db'}"
    config = PipelineConfig(max_batch=getattr(args, "max_batch", 1000), max_age=0.0)
    return Pipeline(open_database(db), signer.w3, deployment, {signer.address: signer}, config), signer


def _progress(done: int, total: int) -> None:
    if total and sys.stderr.isatty():
        width = 40
        filled = int(width * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} anchored")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_issue(args: argparse.Namespace) -> int:
    files = collect_files(args.sources)
    pipeline, signer = _pipeline(args)
    for line in issue_files(
        pipeline, signer.address, files, TYPE_NAMES.get(args.type) if args.type else None, Path(args.out), _progress
    ):
        print(line)
    return 0


def issue_files(
    pipeline: Any,
    issuer: str,
    files: list[Path],
    doc_type: str | None,
    out: Path,
    progress: Any = None,
    chunk_size: int = 0,
) -> list[str]:
    """Submit the files to the outbox a chunk at a time, run the pipeline until all are anchored, and write
    each wrapped document under its file name; returns one line per batch (root, count, block, transaction).

    Memory stays flat with the number of files: documents are read, submitted and written a chunk at a time.
    A refused file stops the run after the chunks before it were accepted; running again after fixing it
    issues the rest (a repeated submission returns the existing record, so nothing is issued twice).
    """
    from sqlalchemy import Text, select, type_coerce

    from certnet.issuer.outbox import Batch, Document, json_value
    from certnet.issuer.pipeline import MAX_DOCUMENTS_PER_SUBMISSION, SubmissionError

    step = chunk_size or MAX_DOCUMENTS_PER_SUBMISSION
    ids: list[int] = []
    for start in range(0, len(files), step):
        chunk = files[start : start + step]
        try:
            ids += [r.id for r in pipeline.submit(issuer, read_raw_documents(chunk, doc_type))]
        except SubmissionError as exc:
            where = exc.path.split(".")
            if len(where) >= 2 and where[0] == "documents":
                raise DocumentInputError(f"{chunk[int(where[1])]}: {exc.code}: {exc.message}") from None
            raise DocumentInputError(f"{exc.code}: {exc}") from None
    from certnet.issuer.outbox import OutboxLocked

    try:  # waits while another pipeline (another `certnet issue`, a service) writes the same outbox
        pipeline.run_until_idle(progress=progress)
    except OutboxLocked as exc:
        raise DocumentInputError(f"{exc} (the documents are accepted: run again later to finish)") from None
    batch_ids: set[int] = set()
    wrapped_text = type_coerce(Document.wrapped, Text)  # the stored JSON as it is, parsed once below
    for start in range(0, len(ids), step):
        chunk_ids = ids[start : start + step]
        with pipeline.sessions() as s:
            rows = {
                i: (b, w)
                for i, b, w in s.execute(
                    select(Document.id, Document.batch_id, wrapped_text).where(Document.id.in_(chunk_ids))
                )
            }
        for f, i in zip(files[start : start + step], chunk_ids, strict=True):
            batch_id, text = rows[i]
            batch_ids.add(batch_id)
            write_json(out / f.name, json_value(text))
    with pipeline.sessions() as s:
        batches = s.scalars(select(Batch).where(Batch.id.in_(batch_ids)).order_by(Batch.id)).all()
    return [f"{b.merkle_root}  {b.count} documents  block {b.block_number}  tx {b.tx_hash}" for b in batches]


def cmd_issue_bulk(args: argparse.Namespace) -> int:
    from certnet.issuer.bulk import BulkInputError, bulk_issue

    deployment, signer = _signer(args)

    def progress(done: int) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\r{done:,} documents wrapped and sent")
            sys.stderr.flush()

    try:
        result = bulk_issue(
            Path(args.source),
            Path(args.out),
            deployment,
            signer,
            batch=args.batch,
            doc_type=TYPE_NAMES.get(args.type) if args.type else None,
            progress=progress,
        )
    except BulkInputError as exc:
        raise DocumentInputError(str(exc)) from None
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    for k, root, n in result.batches:
        print(f"{root}  {n} documents  batch-{k:06d}")
    print(
        f"{result.documents} documents in {len(result.batches)} batches anchored"
        + (f" ({result.resumed} written by an earlier run)" if result.resumed else "")
        + (f"; {result.reanchored} the chain had lost, anchored again" if result.reanchored else "")
    )
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from certnet.issuer.outbox import DONE, Action
    from certnet.node.contracts import REVOCATION_REASONS

    wrapped = read_json(Path(args.file))
    sig = wrapped.get("signature") if isinstance(wrapped, dict) else None
    if not isinstance(sig, dict) or not all(k in sig for k in ("targetHash", "merkleRoot", "proof")):
        raise DocumentInputError(f"{args.file}: not a wrapped document (signature.targetHash/merkleRoot/proof)")
    if args.reason not in REVOCATION_REASONS:
        raise DocumentInputError(f"--reason {args.reason}: one of {', '.join(REVOCATION_REASONS)}")
    pipeline, signer = _pipeline(args, key_name=args.key_name)
    if args.whole_batch:
        action = pipeline.request_revocation(signer.address, root=sig["merkleRoot"], reason=args.reason)
    else:
        action = pipeline.request_revocation_of(
            signer.address, sig["merkleRoot"], sig["targetHash"], sig["proof"], args.reason
        )
    pipeline.run_until_idle()
    with pipeline.sessions() as s:
        a = s.scalar(select(Action).where(Action.id == action.id))
    if a.state != DONE:
        raise DocumentInputError(f"revocation {a.state.lower()}: {a.error}")
    what = "batch " + sig["merkleRoot"] if args.whole_batch else "document " + sig["targetHash"]
    print(f"revoked {what} ({args.reason}) in block {a.block_number}, tx {a.tx_hash}")
    return 0


# ------------------------------------------------------------------ obfuscate


def cmd_obfuscate(args: argparse.Namespace) -> int:
    from certnet.verifier.jsjson import ProofFormatError
    from certnet.verifier.obfuscate import obfuscate_document

    wrapped = read_json(Path(args.file))
    try:
        hidden = obfuscate_document(wrapped, args.paths)
    except (ProofFormatError, ValueError, KeyError) as exc:
        raise DocumentInputError(f"{args.file}: {exc}") from None
    write_json(Path(args.out), hidden)
    print(f"hid {len(args.paths)} field(s); written {args.out}")
    return 0


# ------------------------------------------------------------------ samples


def _authority(deployment: Any, country: str, name: str) -> tuple[str, str] | None:
    """(store, name) of `country`'s authority called `name` on the deployment's node, else of its first authority;
    None when the node cannot be read or the country has no authority."""
    from certnet.node.engines import connect

    if not deployment.rpc_url:
        return None
    try:
        reg = deployment.issuer_registry_client(connect(deployment.rpc_url))
        found = [a for a in (reg.authority(store) for store in reg.stores_of(country)) if a is not None]
    except Exception:
        return None
    for a in sorted(found, key=lambda a: a.name != name):
        return a.store, a.name
    return None


def cmd_samples(args: argparse.Namespace) -> int:
    from certnet.issuer import samples
    from certnet.issuer.envelope import issuer_block, network_block
    from certnet.node.contracts import checksummed
    from certnet.node.deploy import Deployment

    dfile = _home(args) / "deployment.json"
    kwargs: dict[str, Any] = {}
    drop_issuers = False
    if dfile.is_file():
        d = Deployment.load(dfile)
        kwargs = {"network": network_block(d)}
        found = (
            (checksummed(args.store), args.issuer_name) if args.store else _authority(d, args.country, args.issuer_name)
        )
        if found:
            kwargs["issuer_block"] = issuer_block(d, found[1], found[0])
        else:  # no such authority on the chain: the issuing service fills in its own authority's block
            drop_issuers = True
    elif args.store:
        raise DocumentInputError("--store needs a deployment (run `certnet up` or `certnet deploy` first)")
    out = Path(args.out)
    docs = samples.generate(
        args.count, doc_type=TYPE_NAMES[args.type], seed=args.seed, issuing_country=args.country, **kwargs
    )
    if drop_issuers:
        docs = ({k: v for k, v in doc.items() if k != "issuers"} for doc in docs)
    n = 0
    if out.suffix == ".ndjson":  # one file, a document per line (for `certnet issue-bulk`)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as f:
            for n, doc in enumerate(docs, start=1):  # noqa: B007 (n counts the documents, printed below)
                f.write(dump_bytes(doc) + b"\n")
    else:
        for n, doc in enumerate(docs, start=1):
            write_json(out / f"{TYPE_NAMES[args.type].lower()}-{n:06d}.json", doc)
    print(f"wrote {n} {args.type} documents to {out}")
    return 0


# ------------------------------------------------------------------ verify


def _verify_inputs(sources: list[str]) -> Iterator[tuple[str, Any]]:
    for src in sources:
        if src == "-":
            yield "-", sys.stdin.read()
            continue
        for f in collect_files([src]):
            if f.stat().st_size > MAX_FILE_BYTES:
                yield str(f), b""  # judged MALFORMED below with its own message
            else:
                yield str(f), f.read_bytes()


def cmd_verify(args: argparse.Namespace) -> int:
    from certnet.verifier.verdict import EXIT_CODES, OVERALL
    from certnet.verifier.verify import Verifier

    inputs = list(_verify_inputs(args.sources))
    if getattr(args, "bundle", None):
        from certnet.cli.bundles import verify_with_bundle_cli

        return verify_with_bundle_cli(args, inputs)
    contents = [content for _, content in inputs]
    if args.offline:
        verdicts = Verifier(None).verify_many(contents)  # reads no network
    else:
        from certnet.node.deploy import Deployment
        from certnet.node.engines import http_web3
        from certnet.node.rpc import deadline
        from certnet.verifier.sources import ChainSource

        d = Deployment.load(Path(args.deployment) if args.deployment else _home(args) / "deployment.json")
        rpc = args.rpc or d.rpc_url
        if not rpc:
            raise DocumentInputError("no node: pass --rpc URL")
        if not args.timeout > 0:
            raise DocumentInputError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
        w3 = http_web3(rpc, timeout=args.timeout)
        verifier = Verifier(ChainSource(w3, d, confirmations=args.confirmations))
        with deadline(args.timeout):  # a node that does not answer gives ERROR in time, not a long wait
            verdicts = verifier.verify_many(contents)
    worst = max((v.status for v in verdicts), key=lambda s: (s != "VALID", OVERALL.index(s)))
    if args.json:
        results = [{"file": name, **v.to_dict()} for (name, _), v in zip(inputs, verdicts, strict=True)]
        print(json.dumps(results[0] if len(results) == 1 else {"status": worst, "results": results}, indent=2))
    else:
        for (name, _), v in zip(inputs, verdicts, strict=True):
            print(f"{name}: {v.status}")
            print(f"  {v.message}")
            for c in v.checks:
                print(f"  [{c.status:<7}] {c.type}: {c.message}")
            if v.block_number is not None:
                print(f"  (read from the {v.source} of chain {v.chain_id} at block {v.block_number})")
    return EXIT_CODES[worst]
