"""The wheels install one namespace, certnet.*, that works with no checkout (issue 15).

Both wheels (this project and native/) are built with `pip wheel --no-deps` and installed with `--no-deps` into a
fresh virtual environment outside the checkout; the third-party dependencies come from the project's own .venv
through a .pth file (a path line in a .pth only extends sys.path: the .pth files there, among them the editable
install's finder, are not run). Then, from a directory outside the checkout: `certnet --help`, `certnet samples` +
`certnet wrap`, `certnet verify --offline`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from certnet.verifier.verdict import EXIT_CODES

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {
    "api": "certnet.api",
    "contracts": "certnet.contracts",
    "issuer": "certnet.issuer",
    "node": "certnet.node",
    "scripts": "certnet.scripts",
    "verifier": "certnet.verifier",
}


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 900) -> str:
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd}: exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_wheel_installs_one_namespace_and_runs_without_checkout(tmp_path):
    wheels = tmp_path / "wheels"
    env = dict(os.environ)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    env["CARGO_TARGET_DIR"] = str(cache / "certnet" / "cargo-target")  # the set-up's cargo cache
    cargo_bin = Path.home() / ".cargo" / "bin"
    if cargo_bin.is_dir():
        env["PATH"] = f"{cargo_bin}{os.pathsep}{env.get('PATH', '')}"
    # setuptools reuses a checkout's build/ directory: an earlier build's files (a contract artifact since removed,
    # say) would go into the wheel, so the wheel is built from a copy of the tracked files only
    source = tmp_path / "source"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(wheels),
            str(source),
            str(source / "native"),
        ],
        cwd=tmp_path,
        env=env,
    )
    built = sorted(p.name for p in wheels.glob("*.whl"))
    assert len(built) == 2 and built[0].startswith("certnet-0") and built[1].startswith("certnet_native-"), built

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    site = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path).strip())
    run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index", *map(str, wheels.glob("*.whl"))],
        cwd=tmp_path,
    )  # before the .pth: pip would take the .venv's as installed
    deps = [p for p in sys.path if Path(p).name == "site-packages"]  # this interpreter's, .pth-added ones too
    assert sysconfig.get_paths()["purelib"] in deps
    (site / "certnet-deps.pth").write_text("".join(f"{p}\n" for p in deps))

    # one namespace: no top-level node, api, issuer, verifier, scripts or contracts in site-packages
    top = {p.name for p in site.iterdir()}
    assert "certnet" in top and "certnet_native" in top
    assert not top & {"node", "api", "issuer", "verifier", "scripts", "contracts"}, sorted(top)
    # every package of the checkout is in the wheel (pyproject.toml lists them by hand)
    for folder, package in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            assert (site.joinpath(*package.split("."), *rel.parts) / "__init__.py").is_file(), f"{init} not installed"

    # the portal's offline page and the ethers it runs on (vendored: an offline page loads nothing from outside)
    portal = site / "certnet" / "api" / "portal"
    for name in ("static/ethers-umd-min.js", "static/offline.js", "templates/offline.html"):
        assert (portal / name).read_bytes() == (ROOT / "api" / "portal" / name).read_bytes(), name

    outside = tmp_path / "work"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_") and k != "PYTHONPATH"}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")
    probe = run(
        [
            str(py),
            "-c",
            """if True:
        import json, certnet, certnet.api.app
        from certnet.node import paths
        from certnet.node.artifacts import load_artifact
        from certnet.index import MIGRATIONS_DIR
        from certnet.issuer.schemas import JSON_SCHEMA_DIR
        print(json.dumps({"certnet": certnet.__file__, "in_checkout": paths.IN_CHECKOUT,
                          "data_dir": str(paths.data_dir()), "artifacts": str(paths.artifacts_dir()),
                          "artifacts_abi": {p.name[:-5]: len(load_artifact(p.name[:-5])["abi"])
                                            for p in paths.artifacts_dir().iterdir() if p.name.endswith(".json")},
                          "migrations": sorted(p.name for p in MIGRATIONS_DIR.rglob("*.py")),
                          "schemas": sorted(p.name for p in JSON_SCHEMA_DIR.glob("*.json"))}))
    """,
        ],
        cwd=outside,
        env=env,
    )
    info = json.loads(probe)
    assert Path(info["certnet"]).is_relative_to(site)
    assert Path(info["artifacts"]).is_relative_to(site)
    assert info["in_checkout"] is False
    assert sorted(info["artifacts_abi"]) == sorted(p.stem for p in (ROOT / "contracts" / "build").glob("*.json"))
    assert all(info["artifacts_abi"].values())
    assert info["data_dir"] == str(tmp_path / "xdg" / "certnet")
    assert "env.py" in info["migrations"] and len(info["schemas"]) == 3

    certnet = str(venv / "bin" / "certnet")
    assert "samples" in run([certnet, "--help"], cwd=outside, env=env)
    run([certnet, "samples", "--count", "3", "--out", "raw"], cwd=outside, env=env)
    root = run([certnet, "wrap", "raw", "--out", "wrapped", "--type", "form-d"], cwd=outside, env=env).strip()
    wrapped = sorted((outside / "wrapped").glob("*.json"))
    assert len(wrapped) == 3 and json.loads(wrapped[0].read_text())["signature"]["merkleRoot"] == root
    r = subprocess.run(
        [certnet, "verify", "--offline", str(wrapped[0])],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == EXIT_CODES["INTEGRITY_ONLY"], r.stdout + r.stderr
    assert "INTEGRITY_ONLY" in r.stdout
