"""`certnet network init --engine besu`: the QBFT genesis (extraData RLP), node keys, static nodes,
allowlists and per-node Besu configuration. Nothing runs: the files are checked."""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest
import rlp
from eth_keys import keys as eth_keys

from certnet.node.keys import keystore_address
from certnet.node.network import NetworkError, decode_qbft_extra_data, init_network, load_network, qbft_extra_data
from certnet.node.network.besu import NODE_FILES
from certnet.node.network.cli import main as network_cli

VALIDATORS = 4

#: Besu's documented QBFT genesis extraData for four validators (besu.hyperledger.org, "Configure QBFT").
BESU_DOC_EXTRA = (
    "0xf87aa00000000000000000000000000000000000000000000000000000000000000000f8549464a702e6263b7297a96638cac6ae"
    "65e6541f4169943923390ad55e90c237593b3b0e401f3b08a0318594aefdb9a738c9f433e5b6b212a6d62f6370c2f69294c7eeb9"
    "a4e00ce683cf93039b212648e01c6c6b78c080c0"
)
BESU_DOC_VALIDATORS = [
    "0x64a702e6263b7297a96638cac6ae65e6541f4169",
    "0x3923390ad55e90c237593b3b0e401f3b08a03185",
    "0xaefdb9a738c9f433e5b6b212a6d62f6370c2f692",
    "0xc7eeb9a4e00ce683cf93039b212648e01c6c6b78",
]


@pytest.fixture(scope="module")
def besu_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("besu") / "net"
    assert (
        network_cli(
            [
                "network",
                "init",
                str(d),
                "--engine",
                "besu",
                "--validators",
                str(VALIDATORS),
                "--chain-id",
                "4242",
                "--period",
                "2",
            ]
        )
        == 0
    )
    return d


def _key_address(path: Path) -> str:
    raw = bytes.fromhex(path.read_text().strip().removeprefix("0x"))
    return eth_keys.PrivateKey(raw).public_key.to_checksum_address()


def test_extra_data_encoding_matches_besu_documentation() -> None:
    assert qbft_extra_data(BESU_DOC_VALIDATORS) == BESU_DOC_EXTRA
    decoded = decode_qbft_extra_data(BESU_DOC_EXTRA)
    assert [a.lower() for a in decoded.validators] == BESU_DOC_VALIDATORS
    assert decoded.vanity == b"\0" * 32 and decoded.vote == [] and decoded.round == 0 and decoded.seals == []


def test_genesis_extra_data_holds_exactly_the_validators(besu_dir: Path) -> None:
    config = load_network(besu_dir)
    assert config.engine == "besu" and config.chain_id == 4242 and len(config.nodes) == VALIDATORS
    genesis = json.loads((besu_dir / "genesis.json").read_text())
    items = rlp.decode(bytes.fromhex(genesis["extraData"][2:]))
    assert len(items) == 5
    vanity, validators, votes, round_, seals = items
    assert vanity == b"\0" * 32 and votes == [] and round_ == b"" and seals == []
    assert [("0x" + v.hex()) for v in validators] == [n.validator.lower() for n in config.nodes]
    assert len(set(validators)) == VALIDATORS

    qbft = genesis["config"]["qbft"]
    assert qbft["blockperiodseconds"] == 2 and qbft["epochlength"] == 30000
    assert qbft["requesttimeoutseconds"] > qbft["blockperiodseconds"]
    assert genesis["config"]["chainId"] == 4242
    assert genesis["config"]["londonBlock"] == 0 and genesis["config"]["cancunTime"] == 0
    assert genesis["mixHash"] == "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"
    assert genesis["difficulty"] == "0x1"
    funded = {"0x" + a for a in genesis["alloc"]}
    assert funded == {n.validator.lower() for n in config.nodes} | {config.deployer.lower()}
    assert keystore_address(besu_dir / "deployer.json") == config.deployer


def test_every_node_has_the_files_besu_needs(besu_dir: Path) -> None:
    config = load_network(besu_dir)
    genesis_text = (besu_dir / "genesis.json").read_text()
    enodes = [n.enode for n in config.nodes]
    for n in config.nodes:
        nd = besu_dir / n.name
        for f in NODE_FILES:
            assert (nd / f).is_file(), f"{n.name}/{f} missing"
        assert (nd / "genesis.json").read_text() == genesis_text
        toml = tomllib.loads((nd / "config.toml").read_text())
        for ref in ("genesis-file", "node-private-key-file", "static-nodes-file", "permissions-nodes-config-file"):
            assert (nd / toml[ref]).is_file(), ref
        assert toml["p2p-port"] == n.p2p_port and toml["p2p-host"] == n.host == "127.0.0.1"
        assert toml["rpc-http-port"] == n.http_port and toml["rpc-http-host"] == "127.0.0.1"
        assert toml["discovery-enabled"] is False and toml["permissions-nodes-config-file-enabled"] is True
        assert "QBFT" in toml["rpc-http-api"]
        static = json.loads((nd / "static-nodes.json").read_text())
        assert sorted(static) == sorted(e for e in enodes if e != n.enode)
        allow = tomllib.loads((nd / "permissions_config.toml").read_text())["nodes-allowlist"]
        assert sorted(allow) == sorted(enodes)
    ports = [n.p2p_port for n in config.nodes] + [n.http_port for n in config.nodes]
    assert len(set(ports)) == len(ports)


def test_key_files_match_the_validators(besu_dir: Path) -> None:
    config = load_network(besu_dir)
    genesis = json.loads((besu_dir / "genesis.json").read_text())
    in_genesis = decode_qbft_extra_data(genesis["extraData"]).validators
    for n in config.nodes:
        nd = besu_dir / n.name
        assert stat.S_IMODE((nd / "key").stat().st_mode) == 0o600
        address = _key_address(nd / "key")
        assert address == n.validator and address in in_genesis
        pub = (nd / "key.pub").read_text().strip().removeprefix("0x")
        assert len(pub) == 128
        assert eth_keys.PublicKey(bytes.fromhex(pub)).to_checksum_address() == address
        assert n.enode == f"enode://{pub}@{n.host}:{n.p2p_port}"
    assert sorted(in_genesis) == sorted(n.validator for n in config.nodes)


def test_hosts_give_each_node_its_address_and_standard_ports(tmp_path: Path) -> None:
    hosts = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
    config = init_network(tmp_path / "net", validators=4, engine="besu", hosts=hosts)
    assert [n.enode.rsplit("@", 1)[1] for n in config.nodes] == [f"{h}:30303" for h in hosts]
    toml = tomllib.loads((tmp_path / "net" / "node2" / "config.toml").read_text())
    assert toml["p2p-host"] == "10.0.0.3" and toml["rpc-http-port"] == 8545


def test_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str], besu_dir: Path) -> None:
    with pytest.raises(NetworkError, match="at least 4 validators"):
        init_network(tmp_path / "three", validators=3, engine="besu")
    with pytest.raises(NetworkError, match="not empty"):
        init_network(besu_dir, validators=4, engine="besu")
    with pytest.raises(NetworkError, match="unknown engine"):
        init_network(tmp_path / "x", validators=4, engine="parity")
    assert network_cli(["network", "up", str(besu_dir)]) == 1
    assert "besu network: certnet does not run it" in capsys.readouterr().err
    assert network_cli(["network", "status", str(tmp_path / "nowhere")]) == 1
    assert "not a network directory" in capsys.readouterr().err
