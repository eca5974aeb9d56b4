#!/usr/bin/env python3
"""Benchmark: certnet's wrap_documents versus OpenAttestation's wrapDocuments.

Generates Form-D-like certificates of origin (about 3 KB of JSON each), wraps the same
documents with both implementations at each batch size and prints documents per second and
the ratio. The reference library runs in node (npm ``@govtechsg/open-attestation``, pinned in
package.json) through ``tests/oracle/oa.cjs``; its time is measured inside node and excludes
reading and writing the files.

    .venv/bin/python scripts/bench_wrap.py              # 1k, 10k and 50k documents
    .venv/bin/python scripts/bench_wrap.py --sizes 1000 --no-oa --repeat 3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from certnet.verifier.salting import flatten  # noqa: E402
from certnet.verifier.wrap import wrap_documents  # noqa: E402

ORACLE = ROOT / "tests" / "oracle" / "oa.cjs"

_EXPORTERS = [
    (
        "CÔNG TY TNHH MỘT THÀNH VIÊN XUẤT NHẬP KHẨU THỦY SẢN CẦN THƠ",
        "VN",
        "Số 12 Đường Trần Hưng Đạo, Quận Ninh Kiều, Cần Thơ",
    ),
    ("CÔNG TY CỔ PHẦN DỆT MAY THÀNH CÔNG", "VN", "36 Tây Thạnh, Phường Tây Thạnh, Quận Tân Phú, TP. Hồ Chí Minh"),
    ("TỔNG CÔNG TY CÀ PHÊ VIỆT NAM", "VN", "211-213 Nguyễn Văn Cừ, Buôn Ma Thuột, Đắk Lắk"),
    ("PT Sinar Mas Agro Resources and Technology Tbk", "ID", "Jl. M.H. Thamrin No. 51, Jakarta 10350"),
    ("บริษัท ไทยยูเนี่ยน กรุ๊ป จำกัด (มหาชน)", "TH", "72/1 หมู่ 7 ถนนเศรษฐกิจ 1 ตำบลท่าทราย อำเภอเมือง สมุทรสาคร 74000"),
]
_CONSIGNEES = [
    ("บริษัท สยามแม็คโคร จำกัด (มหาชน)", "TH", "1468 ถนนพัฒนาการ แขวงพัฒนาการ เขตสวนหลวง กรุงเทพมหานคร 10250"),
    ("Mitsui & Co. (Asia Pacific) Pte. Ltd.", "SG", "12 Marina View, #30-01 Asia Square Tower 2, Singapore 018961"),
    ("Công ty TNHH Thương mại Đông Á", "VN", "Lô A2, KCN Tân Tạo, Bình Tân, TP. Hồ Chí Minh"),
    ("Mega Lifesciences (Malaysia) Sdn. Bhd.", "MY", "No. 2, Jalan PJU 1A/41, Ara Damansara, 47301 Petaling Jaya"),
]
_GOODS = [
    ("0306.17", "Tôm thẻ chân trắng đông lạnh (Frozen whiteleg shrimp), size 31/40", "WO"),
    ("0901.11", "Cà phê Robusta nhân xô loại 2 (Robusta coffee beans, grade 2)", "WO"),
    ("6109.10", "Áo thun cotton 100% (T-shirts, knitted, of cotton)", "CTH"),
    ("8517.13", "Điện thoại thông minh (Smartphones)", "RVC 40%"),
    ("1006.30", "ข้าวหอมมะลิไทย 100% (Thai Hom Mali rice)", "WO"),
    ("4011.10", "Lốp xe ô tô bằng cao su (New pneumatic tyres of rubber)", "RVC 45%"),
    ("1604.14", "Cá ngừ đóng hộp (Canned tuna in oil)", "CTH"),
]
_PORTS = ["Cảng Cát Lái, TP. Hồ Chí Minh", "Laem Chabang, Chon Buri", "Port Klang", "Tanjung Priok", "Cảng Hải Phòng"]


def make_form_d(i: int, rng: random.Random) -> dict:
    """A Form-D-like certificate of origin (about 3 KB of JSON, about 75 leaves)."""
    exp = _EXPORTERS[i % len(_EXPORTERS)]
    con = _CONSIGNEES[(i * 7) % len(_CONSIGNEES)]
    n_items = 3 + (i % 3)
    items = []
    for j in range(n_items):
        hs, desc, crit = _GOODS[(i + j) % len(_GOODS)]
        qty = rng.randint(10, 50000)
        items.append(
            {
                "itemNumber": j + 1,
                "marksAndNumbers": f"N/M {rng.randint(1000, 9999)}-{j + 1}",
                "packages": {"count": rng.randint(1, 900), "kind": "cartons"},
                "description": desc,
                "hsCode": hs,
                "originCriterion": crit,
                "grossWeightKg": round(rng.uniform(100, 25000), 2),
                "quantity": {"value": qty, "unit": "KGM"},
                "fobValueUsd": round(rng.uniform(500, 250000), 2),
            }
        )
    return {
        "$template": {"name": "ATIGA_FORM_D", "type": "EMBEDDED_RENDERER", "url": "https://certnet.example/renderer"},
        "issuers": [
            {
                "name": "Phòng Quản lý Xuất nhập khẩu khu vực TP. Hồ Chí Minh",
                "documentStore": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                "identityProof": {"type": "CERTNET-REGISTRY", "location": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"},
            }
        ],
        "network": {"chainId": 31337, "name": "certnet-local"},
        "documentType": "ATIGA_FORM_D",
        "issuingCountry": "VN",
        "referenceNumber": f"VN-TH {24 + i % 2}/02/{i:05d}",
        "exporter": {
            "name": exp[0],
            "country": exp[1],
            "address": exp[2],
            "taxId": f"03{rng.randint(10000000, 99999999)}",
        },
        "consignee": {"name": con[0], "country": con[1], "address": con[2]},
        "transport": {
            "departureDate": f"2024-0{1 + i % 9}-{10 + i % 18}",
            "vesselOrFlight": f"MV ASEAN STAR V.{rng.randint(100, 999)}N",
            "portOfLoading": _PORTS[i % len(_PORTS)],
            "portOfDischarge": _PORTS[(i + 1) % len(_PORTS)],
        },
        "officialUse": {"preferentialTreatment": None, "remarks": ""},
        "items": items,
        "invoice": {"number": f"INV-{rng.randint(100000, 999999)}", "date": "2024-02-01"},
        "declaration": {
            "place": "TP. Hồ Chí Minh",
            "date": "2024-02-03",
            "signatory": "Nguyễn Thị Thu Hà",
            "text": "The undersigned hereby declares that the above details and statement are correct; "
            "that all the goods were produced in Viet Nam and that they comply with the origin "
            "requirements specified for these goods in the ATIGA.",
        },
        "certification": {
            "place": "TP. Hồ Chí Minh",
            "date": "2024-02-04",
            "officer": "Trần Văn Bình",
            "stampId": f"ST-{i}",
        },
        "flags": {
            "thirdCountryInvoicing": False,
            "issuedRetroactively": False,
            "backToBack": i % 11 == 0,
            "exhibition": False,
            "accumulation": False,
            "partialCumulation": False,
            "deMinimis": True,
        },
    }


def make_documents(n: int, seed: int = 20240201) -> list[dict]:
    rng = random.Random(seed)
    return [make_form_d(i, rng) for i in range(n)]


def bench_certnet(docs: list[dict], repeat: int) -> tuple[float, float]:
    """Best wall time of ``repeat`` runs and the CPU time (this process and its helper) of that run."""
    best = (math.inf, math.inf)
    for _ in range(repeat):
        c0 = os.times()
        t0 = time.perf_counter()
        root, wrapped = wrap_documents(docs)
        dt = time.perf_counter() - t0
        c1 = os.times()
        cpu = (
            (c1.user - c0.user)
            + (c1.system - c0.system)
            + (c1.children_user - c0.children_user)
            + (c1.children_system - c0.children_system)
        )
        assert len(wrapped) == len(docs) and wrapped[0]["signature"]["merkleRoot"] == root
        del wrapped
        best = min(best, (dt, cpu))
    return best


def bench_oa(path: Path, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        out = subprocess.run(
            ["node", str(ORACLE), "bench-wrap", str(path), "--no-schema"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        best = min(best, json.loads(out.stdout)["seconds"])
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,50000", help="comma-separated batch sizes")
    ap.add_argument("--no-oa", action="store_true", help="skip the reference library")
    ap.add_argument("--repeat", type=int, default=1, help="runs per measurement; the best is shown")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    docs_all = make_documents(max(sizes))
    sample = docs_all[: min(200, len(docs_all))]
    avg = sum(len(json.dumps(d, ensure_ascii=False).encode()) for d in sample) / len(sample)
    leaves = sum(len(flatten(d)) for d in sample) / len(sample)
    print(
        f"documents: Form-D-like, {avg:.0f} bytes of JSON and {leaves:.0f} fields (leaves) on average; "
        f"cpus: {os.cpu_count()}; load average before: {os.getloadavg()[0]:.2f}"
    )
    print("OA: @govtechsg/open-attestation wrapDocuments in node, schema validation off, time inside node")
    print(f"{'batch':>7} {'certnet docs/s':>15} {'(docs/cpu-s)':>13} {'OA docs/s':>11} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            docs = docs_all[:n]
            t_cn, cpu_cn = bench_certnet(docs, args.repeat)
            rate_cn = n / t_cn
            per_cpu = f"({n / cpu_cn:,.0f})"
            if args.no_oa:
                print(f"{n:>7} {rate_cn:>15,.0f} {per_cpu:>13} {'-':>11} {'-':>7}", flush=True)
                continue
            path = Path(tmp) / f"docs-{n}.json"
            path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
            rate_oa = n / bench_oa(path, args.repeat)
            print(f"{n:>7} {rate_cn:>15,.0f} {per_cpu:>13} {rate_oa:>11,.0f} {rate_cn / rate_oa:>6.1f}x", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine lowers every figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
