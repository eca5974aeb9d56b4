"""Shared fixtures: chain engines (embedded and a real anvil process) and freshly deployed contracts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account import Account

from certnet.node.contracts import DocumentStoreClient, IssuerRegistryClient
from certnet.node.deploy import DeployConfig, Deployment, Member, deploy
from certnet.node.engines import AnvilEngine, EmbeddedEngine, Engine
from certnet.node.tx import Transactor, signer_for
from tests.support.bundle_fixtures import bundle_cases, bundle_chain, bundle_net  # noqa: F401  (shared fixtures)
from tests.support.tradetrust import tt_oracle, tt_served, tt_verifier  # noqa: F401  (shared fixtures)

#: scrypt cost of the keystores tests create (asked for explicitly: certnet's default is the standard 2**18, about
#: a second and 256 MiB per key, which the many keys the tests make and unlock would add up)
TEST_SCRYPT_N = 2**12


@pytest.fixture(scope="session")
def anvil_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """One real anvil process for the session (fails, never skips, when anvil is not installed), in memory only."""
    engine = AnvilEngine(tmp_path_factory.mktemp("anvil"), persist=False).start()
    yield engine
    engine.stop()


@pytest.fixture(scope="session")
def embedded_engine() -> Engine:
    return EmbeddedEngine()


@pytest.fixture(params=["embedded", "anvil"])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")


def fund(engine: Engine, address: str, ether: int = 10) -> None:
    signer_for(engine.w3, engine.keys[0]).transfer(address, ether * 10**18)


@dataclass
class Net:
    """A fresh deployment with named actors (each a funded Transactor)."""

    engine: Engine
    deployment: Deployment
    actors: dict[str, Transactor]
    stores: dict[str, str] = field(default_factory=dict)  # authority name ("vn", "vn2", "th") -> store

    def registry(self, who: str | None = None) -> IssuerRegistryClient:
        return self.deployment.issuer_registry_client(self.engine.w3, self.actors[who] if who else None)

    def store(self, who: str | None = None, authority: str | None = None) -> DocumentStoreClient:
        """An authority's store (default: the authority of key `who`, else VN's), sending from `who`."""
        if authority is None:
            authority = "th" if who and who.startswith("th_") else "vn2" if who == "vn2_issuer" else "vn"
        return self.deployment.store_client(self.engine.w3, self.stores[authority], self.actors[who] if who else None)

    def addr(self, who: str) -> str:
        return self.actors[who].address

    def new_actor(self, name: str) -> Transactor:
        t = signer_for(self.engine.w3, Account.create().key)
        fund(self.engine, t.address)
        self.actors[name] = t
        return t


ACTORS = [
    "deployer",
    "vn_admin",
    "vn_admin2",
    "th_admin",
    "my_admin",
    "vn_issuer",
    "vn_issuer2",
    "vn2_issuer",
    "th_issuer",
    "outsider",
]


def make_net(engine: Engine) -> Net:
    """VN (two admins), TH and MY as founding members. Authorities: "vn" (VCCI HCMC, key vn_issuer, Form D and
    e-cert), "vn2" (VCCI Hanoi, key vn2_issuer, Form D) and "th" (key th_issuer, Form D). vn_issuer2 is funded
    but no key of any authority."""
    actors: dict[str, Transactor] = {}
    n = Net(engine, None, actors)  # type: ignore[arg-type]
    for name in ACTORS:
        n.new_actor(name)
    config = DeployConfig(
        name="certnet test",
        members=[
            Member("VN", [actors["vn_admin"].address, actors["vn_admin2"].address]),
            Member("TH", [actors["th_admin"].address]),
            Member("MY", [actors["my_admin"].address]),
        ],
    )
    n.deployment = deploy(engine.w3, actors["deployer"], config)
    for authority, admin, key, name, types in (
        ("vn", "vn_admin", "vn_issuer", "VCCI Ho Chi Minh City", ["FORM_D", "ECERT"]),
        ("vn2", "vn_admin", "vn2_issuer", "VCCI Hanoi", ["FORM_D"]),
        ("th", "th_admin", "th_issuer", "Thai Department of Foreign Trade", ["FORM_D"]),
    ):
        reg = n.registry(admin)
        n.stores[authority] = reg.store_from(reg.register_authority(name, types, first_key=n.addr(key)))
    return n


@pytest.fixture
def net(engine: Engine) -> Net:
    return make_net(engine)


@pytest.fixture
def embedded_net(embedded_engine: Engine) -> Net:
    return make_net(embedded_engine)


@pytest.fixture
def anvil_net(anvil_engine: Engine) -> Net:
    return make_net(anvil_engine)


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def home(anvil_net, tmp_path) -> Path:
    """A certnet data dir for the command line: this network's deployment and the VN issuer's keystore."""
    from certnet.node.keys import create_keystore

    h = tmp_path / "home"
    anvil_net.deployment.rpc_url = anvil_net.engine.rpc_url
    anvil_net.deployment.save(h / "deployment.json")
    (h / "passphrase").write_text("cli-test-pass\n")
    create_keystore(
        h / "keys" / "vn-issuer.json",
        "cli-test-pass",
        anvil_net.actors["vn_issuer"].account.key,
        scrypt_n=TEST_SCRYPT_N,
    )
    return h


#: fixtures that bring up a real chain engine: a test that uses one, directly or through another fixture, is an
#: integration test. Tests that start engines, databases or processes themselves say so with a module `pytestmark`.
_REAL_PARTS = {"engine", "net", "anvil_engine", "embedded_engine", "anvil_net", "embedded_net"}
_LEVELS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its level: e2e (tests/e2e/), integration (real engines, databases, processes) or unit
    (`pytest -m unit` runs the quick ones)."""
    for item in items:
        if any(item.get_closest_marker(level) for level in _LEVELS):
            continue
        if "e2e" in Path(str(item.path)).parts:
            item.add_marker(pytest.mark.e2e)
        elif _REAL_PARTS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
        else:
            item.add_marker(pytest.mark.unit)
