"""Deterministic generator of realistic certnet documents (Form D, ePhyto, generic e-certificates).

    >>> import random
    >>> from certnet.issuer import samples
    >>> doc = samples.form_d(random.Random(7), importingCountry="TH")
    >>> for doc in samples.generate(1_000_000, seed=1):   # streams, never holds them all
    ...     ...

Everything comes from a seeded ``random.Random``: the same seed gives the same documents on every
machine. Content is realistic ASEAN trade: real HS 2022 subheadings with matching descriptions,
traders with names and addresses in their own languages (Vietnamese with its diacritics, Thai script,
Malay, Indonesian, Filipino...), real ports with their UN/LOCODEs, container vessels and cargo flights,
origin criteria as the agreements use them, Vietnamese-style C/O numbers per importing country
(``VN-TH 24/02/00006``: exporting-importing country, year, issuing office, serial). The parties and
companies are invented; any likeness to a real company is a coincidence of common words.

Every generated document passes :func:`certnet.issuer.schemas.validate_document`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

__all__ = [
    "DEFAULT_NETWORK",
    "PLACEHOLDER_DOCUMENT_STORE",
    "PLACEHOLDER_ISSUER_REGISTRY",
    "default_issuer_block",
    "ecert",
    "ephyto",
    "form_d",
    "generate",
]

PLACEHOLDER_DOCUMENT_STORE = "0x0000000000000000000000000000000000000001"
PLACEHOLDER_ISSUER_REGISTRY = "0x0000000000000000000000000000000000000002"
DEFAULT_NETWORK: dict[str, Any] = {"chain": "ETH", "chainId": "31337", "name": "certnet-local"}

# issue dates are drawn from this window (fixed, so that output never depends on today's date)
FIRST_ISSUE_DATE = date(2024, 1, 1)
ISSUE_DAYS = 731  # 2024-01-01 .. 2025-12-31
_DAY0 = FIRST_ISSUE_DATE - timedelta(days=400)  # room for retroactive issues and invoices before
_DATES: tuple[str, ...] = tuple((_DAY0 + timedelta(days=i)).isoformat() for i in range(400 + ISSUE_DAYS + 400))
_FIRST = 400  # index of FIRST_ISSUE_DATE in _DATES

# --------------------------------------------------------------------------------------------------
# countries

COUNTRY_NAMES = {
    "VN": "VIETNAM",
    "TH": "THAILAND",
    "MY": "MALAYSIA",
    "ID": "INDONESIA",
    "PH": "PHILIPPINES",
    "SG": "SINGAPORE",
    "KH": "CAMBODIA",
    "LA": "LAO PDR",
    "MM": "MYANMAR",
    "BN": "BRUNEI DARUSSALAM",
    "CN": "CHINA",
    "KR": "KOREA",
    "JP": "JAPAN",
    "AU": "AUSTRALIA",
    "NZ": "NEW ZEALAND",
    "IN": "INDIA",
    "HK": "HONG KONG, CHINA",
    "US": "UNITED STATES",
    "NL": "NETHERLANDS",
    "DE": "GERMANY",
    "AE": "UNITED ARAB EMIRATES",
    "TW": "TAIWAN",
}
ASEAN_LIST = ("VN", "TH", "MY", "ID", "PH", "SG", "KH", "LA", "MM", "BN")
# importing-country weights for ATIGA trade (roughly the intra-ASEAN pattern)
_ATIGA_DESTINATIONS = ("TH", "MY", "ID", "PH", "SG", "KH", "VN", "LA", "MM", "BN")
_ATIGA_WEIGHTS = (16, 14, 14, 12, 10, 10, 9, 6, 6, 3)
_PARTNER_AGREEMENTS = (
    ("RCEP", ("CN", "JP", "KR", "AU", "NZ")),
    ("ACFTA", ("CN",)),
    ("AKFTA", ("KR",)),
    ("AJCEP", ("JP",)),
    ("AANZFTA", ("AU", "NZ")),
    ("AIFTA", ("IN",)),
    ("AHKFTA", ("HK",)),
)
_AGREEMENT_PARTNER = {"ACFTA": "CN", "AKFTA": "KR", "AJCEP": "JP", "AIFTA": "IN", "AHKFTA": "HK"}
_ISSUING_WEIGHTED = (
    ("VN",) * 40
    + ("TH",) * 20
    + ("MY",) * 12
    + ("ID",) * 12
    + ("PH",) * 8
    + ("SG", "SG", "SG", "KH", "KH", "MM", "LA", "BN")
)

# --------------------------------------------------------------------------------------------------
# issuing authorities of certificates of origin: (authority, ((office code, place), ...))

AUTHORITIES: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "VN": (
        "Bộ Công Thương – Ministry of Industry and Trade of Viet Nam",
        (
            ("01", "Hà Nội"),
            ("02", "TP. Hồ Chí Minh"),
            ("03", "Đà Nẵng"),
            ("04", "Đồng Nai"),
            ("05", "Hải Phòng"),
            ("06", "Bình Dương"),
            ("07", "Vũng Tàu"),
            ("08", "Lạng Sơn"),
            ("13", "Cần Thơ"),
            ("16", "Quy Nhơn"),
        ),
    ),
    "TH": (
        "Department of Foreign Trade, Ministry of Commerce (กรมการค้าต่างประเทศ)",
        (
            ("01", "Nonthaburi"),
            ("02", "Laem Chabang, Chon Buri"),
            ("03", "Songkhla"),
            ("04", "Chiang Mai"),
            ("05", "Nong Khai"),
        ),
    ),
    "MY": (
        "Ministry of Investment, Trade and Industry (MITI) Malaysia",
        (
            ("01", "Kuala Lumpur"),
            ("02", "Pulau Pinang"),
            ("03", "Johor Bahru"),
            ("04", "Port Klang"),
            ("05", "Kuching"),
        ),
    ),
    "ID": (
        "Kementerian Perdagangan Republik Indonesia (Ministry of Trade)",
        (
            ("01", "Jakarta"),
            ("02", "Surabaya"),
            ("03", "Medan"),
            ("04", "Semarang"),
            ("05", "Makassar"),
        ),
    ),
    "PH": (
        "Bureau of Customs, Republic of the Philippines",
        (
            ("01", "Manila"),
            ("02", "Cebu City"),
            ("03", "Davao City"),
            ("04", "Batangas City"),
        ),
    ),
    "SG": ("Singapore Customs", (("01", "Singapore"),)),
    "KH": ("Ministry of Commerce, Kingdom of Cambodia", (("01", "Phnom Penh"), ("02", "Sihanoukville"))),
    "LA": (
        "Department of Import and Export, Ministry of Industry and Commerce, Lao PDR",
        (
            ("01", "Vientiane Capital"),
            ("02", "Savannakhet"),
        ),
    ),
    "MM": ("Department of Trade, Ministry of Commerce, Myanmar", (("01", "Nay Pyi Taw"), ("02", "Yangon"))),
    "BN": ("Ministry of Finance and Economy, Brunei Darussalam", (("01", "Bandar Seri Begawan"),)),
    "CN": (
        "General Administration of Customs of the People's Republic of China",
        (
            ("01", "Beijing"),
            ("02", "Guangzhou"),
            ("03", "Nanning"),
            ("04", "Shanghai"),
        ),
    ),
    "KR": ("Korea Customs Service", (("01", "Daejeon"), ("02", "Busan"))),
    "JP": ("Japan Chamber of Commerce and Industry", (("01", "Tokyo"), ("02", "Osaka"))),
    "AU": ("Australian Chamber of Commerce and Industry", (("01", "Canberra"), ("02", "Sydney"))),
    "NZ": ("New Zealand Customs Service", (("01", "Wellington"), ("02", "Auckland"))),
    "IN": ("Export Inspection Council of India", (("01", "New Delhi"), ("02", "Mumbai"))),
    "HK": ("Trade and Industry Department, Hong Kong, China", (("01", "Hong Kong"),)),
}

NPPOS: dict[str, tuple[str, str, str]] = {  # NPPO name, abbreviation, city
    "VN": ("Cục Bảo vệ thực vật – Plant Protection Department (PPD), Viet Nam", "PPD", "Hà Nội"),
    "TH": ("Department of Agriculture (กรมวิชาการเกษตร), Thailand", "DOA", "Bangkok"),
    "MY": ("Department of Agriculture Malaysia", "DOA", "Kuala Lumpur"),
    "ID": ("Badan Karantina Indonesia (Indonesian Quarantine Authority)", "BARANTIN", "Jakarta"),
    "PH": ("Bureau of Plant Industry, Republic of the Philippines", "BPI", "Manila"),
    "SG": ("National Parks Board (NParks), Singapore", "NPARKS", "Singapore"),
    "KH": ("General Directorate of Agriculture, Cambodia", "GDA", "Phnom Penh"),
    "LA": ("Department of Agriculture, Lao PDR", "DOA", "Vientiane Capital"),
    "MM": ("Plant Protection Division, Department of Agriculture, Myanmar", "PPD", "Yangon"),
    "BN": ("Department of Agriculture and Agrifood, Brunei Darussalam", "DAA", "Bandar Seri Begawan"),
}

# officials and company signatories, per country
SIGNATORIES: dict[str, tuple[str, ...]] = {
    "VN": (
        "Nguyễn Thị Thu Hà",
        "Trần Văn Minh",
        "Lê Hoàng Nam",
        "Phạm Thị Lan Anh",
        "Võ Quốc Bảo",
        "Đặng Thị Hồng Nhung",
        "Huỳnh Tấn Phát",
        "Bùi Thị Mai Hương",
        "Ngô Đức Thắng",
        "Đỗ Thị Ngọc Ánh",
    ),
    "TH": (
        "Somchai Srisuk (สมชาย ศรีสุข)",
        "Napaporn Wongsawat",
        "Kittipong Chaiyaporn",
        "Siriporn Thongdee",
        "Anucha Rattanakorn",
        "Wanida Phromma (วนิดา พรหมมา)",
    ),
    "MY": (
        "Ahmad Faizal bin Abdullah",
        "Nurul Aisyah binti Hassan",
        "Tan Wei Ming",
        "Rajesh a/l Subramaniam",
        "Siti Norhaliza binti Ismail",
        "Lim Chee Keong",
    ),
    "ID": ("Budi Santoso", "Siti Rahmawati", "Agus Setiawan", "Dewi Lestari", "Hendra Gunawan", "Ni Luh Putu Ayu Sari"),
    "PH": (
        "Maria Cristina Dela Cruz",
        "Jose Miguel Santos",
        "Ma. Luisa Reyes",
        "Ramon Bautista Jr.",
        "Ana Patricia Villanueva",
        "Rogelio Peñaflor",
    ),
    "SG": ("Lim Hui Ling", "Muhammad Hafiz bin Osman", "Goh Chee Keong", "Priya d/o Raman"),
    "KH": ("Sok Chanthy", "Chea Sophal", "Heng Sreymom", "Keo Vannak"),
    "LA": ("Souksavanh Phommachanh", "Khamla Vongphachanh", "Bounmy Sisavath"),
    "MM": ("U Kyaw Min Htut", "Daw Thandar Aye", "U Zaw Win Naing"),
    "BN": ("Awang Haji Mohd Rizal bin Haji Ahmad", "Dayang Nurul Huda binti Haji Omar"),
    "CN": ("Zhang Wei (张伟)", "Li Na (李娜)", "Wang Fang", "Liu Yang"),
    "KR": ("Kim Min-jun (김민준)", "Lee Seo-yeon", "Park Ji-hoon"),
    "JP": ("Sato Hiroshi (佐藤 浩)", "Suzuki Yumi", "Takahashi Kenji"),
    "AU": ("Sarah Mitchell", "David O'Connor", "Emily Nguyen"),
    "NZ": ("James Wilson", "Aroha Ngata", "Olivia Chen"),
    "IN": ("Priya Sharma", "Rahul Mehta", "Anand Krishnan"),
    "HK": ("Chan Tai Man", "Wong Ka Yan"),
}
OFFICIAL_TITLES = ("Director", "Deputy Director", "Head of Certificate of Origin Division", "Authorised Officer")
COMPANY_TITLES = (
    "Director",
    "General Director",
    "Export Manager",
    "Managing Director",
    "Sales Director",
    "Chief Executive Officer",
    "Logistics Manager",
)

# --------------------------------------------------------------------------------------------------
# traders: (name, address, city, identifier); exporters also carry (product keys into GOODS, office code)
EXPORTERS: dict[str, tuple[tuple[str, str, str, str, tuple[str, ...], str], ...]] = {
    "VN": (
        (
            "Công ty TNHH Xuất Nhập Khẩu Thủy Sản Minh Phú",
            "Khu công nghiệp phường 8, Phường 8, Thành phố Cà Mau, Tỉnh Cà Mau, Việt Nam",
            "Cà Mau",
            "2000102108",
            ("shrimp", "shrimp_cooked"),
            "13",
        ),
        (
            "Công ty Cổ phần Nông sản Phước An",
            "Lô 16A, Khu công nghiệp Tân Tạo, Phường Tân Tạo A, Quận Bình Tân, TP. Hồ Chí Minh, Việt Nam",
            "TP. Hồ Chí Minh",
            "0301234567",
            ("pepper", "cashew", "coffee_roasted"),
            "02",
        ),
        (
            "Công ty TNHH Lương Thực Mekong Xanh",
            "Số 45 Đường Trần Hưng Đạo, Phường Mỹ Xuyên, TP. Long Xuyên, Tỉnh An Giang, Việt Nam",
            "Long Xuyên",
            "1600987654",
            ("rice", "rice_st25"),
            "13",
        ),
        (
            "Công ty Cổ phần Cà phê Tây Nguyên Đắk Lắk",
            "Km 7, Quốc lộ 14, Phường Tân An, TP. Buôn Ma Thuột, Tỉnh Đắk Lắk, Việt Nam",
            "Buôn Ma Thuột",
            "6000456123",
            ("coffee", "coffee_roasted", "pepper"),
            "03",
        ),
        (
            "Công ty TNHH Cao Su Bình Phước Việt",
            "Ấp 3, Xã Tiến Hưng, TP. Đồng Xoài, Tỉnh Bình Phước, Việt Nam",
            "Đồng Xoài",
            "3800112233",
            ("rubber_svr", "wood_pellets"),
            "06",
        ),
        (
            "Công ty TNHH Điện Tử Bắc Ninh Việt Nam",
            "Lô CN-05, Khu công nghiệp Yên Phong, Huyện Yên Phong, Tỉnh Bắc Ninh, Việt Nam",
            "Bắc Ninh",
            "2300789456",
            ("smartphones", "laptops", "solar"),
            "01",
        ),
        (
            "Công ty Cổ phần May Xuất Khẩu Hòa Thọ Đông",
            "Số 36 Đường Ông Ích Đường, Phường Hòa Thọ Đông, Quận Cẩm Lệ, TP. Đà Nẵng, Việt Nam",
            "Đà Nẵng",
            "0400101555",
            ("tshirts", "trousers", "sneakers"),
            "03",
        ),
        (
            "Công ty TNHH Đồ Gỗ Nội Thất Bình Dương Xanh",
            "Đường số 7, Khu công nghiệp Sóng Thần 2, TP. Dĩ An, Tỉnh Bình Dương, Việt Nam",
            "Bình Dương",
            "3700667788",
            ("tables", "armchairs"),
            "06",
        ),
        (
            "Công ty Cổ phần Thực Phẩm Á Châu Hải Phòng",
            "Lô E, Khu công nghiệp Đình Vũ, Phường Đông Hải 2, Quận Hải An, TP. Hải Phòng, Việt Nam",
            "Hải Phòng",
            "0200334455",
            ("instant_noodles", "tea"),
            "05",
        ),
        (
            "Công ty TNHH Chế Biến Điều Bình Phước",
            "Khu công nghiệp Minh Hưng, Huyện Chơn Thành, Tỉnh Bình Phước, Việt Nam",
            "Bình Phước",
            "3801223344",
            ("cashew",),
            "06",
        ),
        (
            "Công ty Cổ phần Cá Tra Đồng Tháp Xanh",
            "Quốc lộ 30, Phường 11, TP. Cao Lãnh, Tỉnh Đồng Tháp, Việt Nam",
            "Cao Lãnh",
            "1400112299",
            ("pangasius",),
            "13",
        ),
        (
            "Công ty TNHH Trái Cây Miền Tây Tiền Giang",
            "Ấp Long Hòa, Xã Long Định, Huyện Châu Thành, Tỉnh Tiền Giang, Việt Nam",
            "Mỹ Tho",
            "1201556677",
            ("durian", "dragon_fruit", "mango"),
            "13",
        ),
        (
            "Công ty Cổ phần Vật Liệu Xây Dựng Đông Hải",
            "Khu công nghiệp Nam Cầu Kiền, Huyện Thủy Nguyên, TP. Hải Phòng, Việt Nam",
            "Hải Phòng",
            "0201998877",
            ("cement", "tiles"),
            "05",
        ),
        (
            "Công ty TNHH Tinh Bột Sắn Tây Ninh",
            "Ấp Trà Võ, Xã Thạnh Đức, Thị xã Gò Dầu, Tỉnh Tây Ninh, Việt Nam",
            "Tây Ninh",
            "3900445566",
            ("tapioca", "cassava_chips"),
            "02",
        ),
    ),
    "TH": (
        (
            "Siam Rice Export Co., Ltd. (บริษัท สยามไรซ์ เอ็กซ์ปอร์ต จำกัด)",
            "88/8 Moo 4, Phahonyothin Road, Khlong Nueng, Khlong Luang, Pathum Thani 12120, Thailand",
            "Pathum Thani",
            "0105536001234",
            ("rice_hommali", "tapioca"),
            "01",
        ),
        (
            "บริษัท ไทยซีฟู้ดแปรรูป จำกัด (Thai Seafood Processing Co., Ltd.)",
            "979/13-16 ถนนพหลโยธิน แขวงสามเสนใน เขตพญาไท กรุงเทพมหานคร 10400",
            "Bangkok",
            "0105547002345",
            ("tuna_canned", "shrimp"),
            "01",
        ),
        (
            "Eastern Rubber Industries Public Company Limited",
            "7/123 Moo 4, Amata City Industrial Estate, Mab Yang Phon, Pluak Daeng, Rayong 21140, Thailand",
            "Rayong",
            "0107538003456",
            ("rubber_str", "tyres"),
            "02",
        ),
        (
            "บริษัท สยามแอร์คอนดิชั่น จำกัด",
            "700/12 นิคมอุตสาหกรรมอมตะซิตี้ ชลบุรี ตำบลคลองตำหรุ อำเภอเมืองชลบุรี จังหวัดชลบุรี 20000",
            "Chon Buri",
            "0205551004567",
            ("air_conditioners", "hdd"),
            "02",
        ),
        (
            "Chanthaburi Fruit Trading Co., Ltd.",
            "55 Moo 9, Tha Chang Sub-district, Mueang Chanthaburi, Chanthaburi 22000, Thailand",
            "Chanthaburi",
            "0225560005678",
            ("durian", "mango", "orchids"),
            "02",
        ),
        (
            "Korat Sugar Export Co., Ltd.",
            "2 Ploenchit Center, Sukhumvit Road, Khlong Toei, Bangkok 10110, Thailand",
            "Bangkok",
            "0105542006789",
            ("sugar", "sugar_refined"),
            "01",
        ),
        (
            "Rayong Auto Assembly Co., Ltd.",
            "64/1 Moo 4, Eastern Seaboard Industrial Estate, Pluak Daeng, Rayong 21140, Thailand",
            "Rayong",
            "0215549007890",
            ("pickups", "brake_pads"),
            "02",
        ),
        (
            "Prachuap Pineapple Cannery Co., Ltd.",
            "199 Moo 2, Phetkasem Road, Kui Buri, Prachuap Khiri Khan 77150, Thailand",
            "Prachuap Khiri Khan",
            "0775537008901",
            ("pineapple_canned",),
            "01",
        ),
    ),
    "MY": (
        (
            "Sawit Makmur Plantations Sdn. Bhd.",
            "Lot 1234, Jalan Perusahaan 2, Kawasan Perindustrian Prai, 13600 Prai, Pulau Pinang, Malaysia",
            "Prai",
            "199801012345",
            ("cpo", "olein"),
            "02",
        ),
        (
            "Kilang Getah Sri Perak Sdn. Bhd.",
            "No. 8, Jalan Kemajuan, Kawasan Perindustrian Bukit Merah, 34400 Simpang Empat, Perak, Malaysia",
            "Ipoh",
            "200301023456",
            ("rubber_smr",),
            "02",
        ),
        (
            "Penang Semiconductor Assembly Sdn. Bhd.",
            "Plot 12, Bayan Lepas Free Industrial Zone Phase 4, 11900 Bayan Lepas, Pulau Pinang, Malaysia",
            "Bayan Lepas",
            "199501034567",
            ("ics", "solar"),
            "02",
        ),
        (
            "Glove Nusantara Industries Berhad",
            "Lot 4968, Jalan Teratai, Batu 5, Off Jalan Meru, 41050 Klang, Selangor Darul Ehsan, Malaysia",
            "Klang",
            "198901045678",
            ("gloves",),
            "04",
        ),
        (
            "Perabot Kayu Muar Sdn. Bhd.",
            "PTD 3021, Kawasan Perindustrian Bukit Pasir, 84300 Muar, Johor Darul Ta'zim, Malaysia",
            "Muar",
            "200701056789",
            ("wardrobes", "plywood"),
            "03",
        ),
        (
            "Johor Cocoa Processing Sdn. Bhd.",
            "PLO 45, Jalan Tanjung 3, Kawasan Perindustrian Pasir Gudang, 81700 Pasir Gudang, Johor, Malaysia",
            "Pasir Gudang",
            "199901067890",
            ("cocoa_butter",),
            "03",
        ),
        (
            "Penyejuk Udara Shah Alam Sdn. Bhd.",
            "Lot 3, Jalan Pelabur 23/1, Seksyen 23, 40300 Shah Alam, Selangor Darul Ehsan, Malaysia",
            "Shah Alam",
            "200401078901",
            ("air_conditioners",),
            "01",
        ),
        (
            "Agro Musang Raub Sdn. Bhd.",
            "Lot 2215, Jalan Lipis, 27600 Raub, Pahang Darul Makmur, Malaysia",
            "Raub",
            "201001089012",
            ("durian", "orchids"),
            "01",
        ),
    ),
    "ID": (
        (
            "PT Sinar Kopi Nusantara",
            "Jl. Jenderal Sudirman Kav. 52-53, Senayan, Kebayoran Baru, Jakarta Selatan 12190, Indonesia",
            "Jakarta",
            "01.234.567.8-012.000",
            ("coffee", "cocoa_butter"),
            "01",
        ),
        (
            "PT Karet Sumatera Jaya Tbk",
            "Kawasan Industri Medan II, Jl. Pulau Batam No. 7, Saentis, Percut Sei Tuan, Deli Serdang, "
            "Sumatera Utara 20371, Indonesia",
            "Medan",
            "02.345.678.9-121.000",
            ("rubber_sir",),
            "03",
        ),
        (
            "PT Minyak Sawit Kalimantan Lestari",
            "Jl. Ahmad Yani Km. 12, Gambut, Banjar, Kalimantan Selatan 70652, Indonesia",
            "Banjarmasin",
            "03.456.789.0-731.000",
            ("cpo", "olein"),
            "02",
        ),
        (
            "CV Rempah Maluku Sejahtera",
            "Jl. Sultan Hasanuddin No. 21, Tantui, Sirimau, Ambon, Maluku 97128, Indonesia",
            "Ambon",
            "04.567.890.1-941.000",
            ("pepper",),
            "05",
        ),
        (
            "PT Sepatu Olahraga Tangerang",
            "Jl. Raya Serang Km. 24, Balaraja, Tangerang, Banten 15610, Indonesia",
            "Tangerang",
            "05.678.901.2-451.000",
            ("sneakers", "tshirts", "womens_trousers"),
            "01",
        ),
        (
            "PT Pangan Instan Nusantara",
            "Jl. Raya Waru No. 88, Sidoarjo, Jawa Timur 61256, Indonesia",
            "Sidoarjo",
            "06.123.456.7-643.000",
            ("instant_noodles", "desiccated_coconut"),
            "02",
        ),
        (
            "PT Samudra Tuna Bitung",
            "Jl. Pelabuhan Perikanan Samudera, Aertembaga, Bitung, Sulawesi Utara 95521, Indonesia",
            "Bitung",
            "07.234.567.8-823.000",
            ("tuna_canned",),
            "05",
        ),
        (
            "PT Ban Kencana Indonesia",
            "Kawasan Industri Jababeka II, Cikarang, Bekasi, Jawa Barat 17530, Indonesia",
            "Bekasi",
            "08.345.678.9-413.000",
            ("tyres", "plywood"),
            "01",
        ),
        (
            "PT Agro Buah Nusantara",
            "Jl. Raya Probolinggo–Lumajang Km. 5, Probolinggo, Jawa Timur 67271, Indonesia",
            "Probolinggo",
            "09.456.789.0-625.000",
            ("mango", "maize"),
            "02",
        ),
    ),
    "PH": (
        (
            "Mindanao Banana Growers Corporation",
            "Km. 9 Sasa, Davao City 8000, Davao del Sur, Philippines",
            "Davao City",
            "004-123-456-000",
            ("banana", "mango"),
            "03",
        ),
        (
            "Niyog ng Quezon Coconut Products, Inc.",
            "Barangay Isabang, Tayabas City, Quezon 4327, Philippines",
            "Lucena City",
            "005-234-567-000",
            ("coconut_oil", "desiccated_coconut"),
            "01",
        ),
        (
            "Cebu Rattan & Furniture Makers, Inc.",
            "Mactan Economic Zone I, Lapu-Lapu City, Cebu 6015, Philippines",
            "Lapu-Lapu City",
            "006-345-678-000",
            ("rattan",),
            "02",
        ),
        (
            "Laguna Integrated Circuits Philippines Corp.",
            "Lot 3, Block 7, Laguna Technopark, Biñan, Laguna 4024, Philippines",
            "Biñan",
            "007-456-789-000",
            ("ics",),
            "01",
        ),
        (
            "Del Sur Pineapple Packers Corporation",
            "Purok 5, Barangay Polomolok, South Cotabato 9504, Philippines",
            "General Santos City",
            "008-567-890-000",
            ("pineapple_canned", "tuna_canned"),
            "03",
        ),
    ),
    "SG": (
        (
            "Lion City Trading Pte. Ltd.",
            "80 Robinson Road, #10-01, Singapore 068898",
            "Singapore",
            "201912345K",
            ("hdd", "skincare"),
            "01",
        ),
        (
            "Jurong Pharma Manufacturing Pte. Ltd.",
            "21 Tuas South Avenue 6, Singapore 637021",
            "Singapore",
            "200512345M",
            ("medicaments",),
            "01",
        ),
        (
            "Straits Microelectronics Pte. Ltd.",
            "2 Ang Mo Kio Street 64, #05-01, Singapore 569084",
            "Singapore",
            "199812345N",
            ("ics",),
            "01",
        ),
        (
            "Mandai Orchid Growers Pte. Ltd.",
            "8 Lim Chu Kang Lane 2, Singapore 718823",
            "Singapore",
            "198812345D",
            ("orchids",),
            "01",
        ),
    ),
    "KH": (
        (
            "Angkor Rice Mill Co., Ltd.",
            "National Road No. 5, Phum Ou Dambang, Battambang, Cambodia",
            "Battambang",
            "L001-901234567",
            ("rice", "cashew_raw", "mango", "cassava_chips"),
            "01",
        ),
        (
            "Phnom Penh Garment Manufacturing Co., Ltd.",
            "Lot 45, Phnom Penh Special Economic Zone, Sangkat Phleung Chheh Roteh, Khan Pou Senchey, Phnom Penh, "
            "Cambodia",
            "Phnom Penh",
            "L001-902345678",
            ("tshirts", "sneakers"),
            "01",
        ),
        (
            "Bavet Bicycle Manufacturing Co., Ltd.",
            "Manhattan Special Economic Zone, Bavet, Svay Rieng, Cambodia",
            "Bavet",
            "L001-905678901",
            ("bicycles",),
            "01",
        ),
    ),
    "LA": (
        (
            "Lao Coffee Export Sole Co., Ltd.",
            "Ban Phonxay, Xaysettha District, Vientiane Capital, Lao PDR",
            "Vientiane Capital",
            "0123456789",
            ("coffee",),
            "01",
        ),
        (
            "Savan Cassava Products Co., Ltd.",
            "Savan-Seno Special Economic Zone, Kaysone Phomvihane, Savannakhet, Lao PDR",
            "Savannakhet",
            "0234567890",
            ("cassava_chips", "banana"),
            "02",
        ),
    ),
    "MM": (
        (
            "Golden Myanmar Agro Products Co., Ltd.",
            "No. 45, Bogyoke Aung San Road, Pabedan Township, Yangon, Myanmar",
            "Yangon",
            "101234567",
            ("mung_beans", "maize", "mango"),
            "02",
        ),
        (
            "Ayeyarwady Rice Trading Co., Ltd.",
            "No. 12, Strand Road, Pathein, Ayeyarwady Region, Myanmar",
            "Pathein",
            "102345678",
            ("rice",),
            "02",
        ),
        (
            "Yangon Apparel Manufacturing Co., Ltd.",
            "Plot 21, Shwe Pyi Thar Industrial Zone, Yangon, Myanmar",
            "Yangon",
            "105678901",
            ("womens_trousers",),
            "02",
        ),
    ),
    "BN": (
        (
            "Syarikat Brunei Halal Foods Sdn. Bhd.",
            "Lot 2051, Kg. Beribi Industrial Area, Bandar Seri Begawan BE1118, Brunei Darussalam",
            "Bandar Seri Begawan",
            "RC/00012345",
            ("shrimp", "desiccated_coconut"),
            "01",
        ),
        (
            "Sungai Liang Chemicals Sdn. Bhd.",
            "Sungai Liang Industrial Park, Kuala Belait KC2935, Brunei Darussalam",
            "Kuala Belait",
            "RC/00034567",
            ("methanol",),
            "01",
        ),
    ),
    "CN": (
        (
            "广西南宁水果进出口有限公司 (Guangxi Nanning Fruit Import & Export Co., Ltd.)",
            "No. 18 Minzu Avenue, Qingxiu District, Nanning, Guangxi 530022, China",
            "Nanning",
            "91450100MA5K123456",
            ("garlic", "apples"),
            "03",
        ),
        (
            "Shenzhen Bright Electronics Co., Ltd.",
            "Building 5, Hi-Tech Industrial Park, Nanshan District, Shenzhen, Guangdong 518057, China",
            "Shenzhen",
            "91440300MA5D234567",
            ("smartphones", "laptops"),
            "02",
        ),
    ),
    "KR": (
        (
            "Hanil Trading Co., Ltd. ((주)한일무역)",
            "123 Teheran-ro, Gangnam-gu, Seoul 06133, Republic of Korea",
            "Seoul",
            "120-81-12345",
            ("skincare", "instant_noodles", "tyres"),
            "01",
        ),
    ),
    "JP": (
        (
            "Sakura Foods Corporation (株式会社さくらフーズ)",
            "2-3-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005, Japan",
            "Tokyo",
            "1010001234567",
            ("green_tea",),
            "01",
        ),
        (
            "Chubu Brake Components Co., Ltd.",
            "3-15 Meieki, Nakamura-ku, Nagoya, Aichi 450-0002, Japan",
            "Nagoya",
            "1800001234567",
            ("brake_pads",),
            "02",
        ),
    ),
    "AU": (
        (
            "Southern Cross Grain Exports Pty Ltd",
            "Level 12, 200 Queen Street, Melbourne VIC 3000, Australia",
            "Melbourne",
            "ABN 12 345 678 901",
            ("wheat", "milk_powder"),
            "02",
        ),
    ),
    "NZ": (
        (
            "Kiwi Harvest Dairy Exports Limited",
            "15 Customs Street East, Auckland 1010, New Zealand",
            "Auckland",
            "NZBN 9429041234567",
            ("milk_powder", "apples"),
            "02",
        ),
    ),
    "IN": (
        (
            "Mumbai Spice Traders Pvt. Ltd.",
            "Plot 14, MIDC Industrial Area, Andheri East, Mumbai 400093, India",
            "Mumbai",
            "27AABCM1234F1Z5",
            ("pepper", "medicaments", "buffalo_meat"),
            "02",
        ),
    ),
    "HK": (
        (
            "Victoria Harbour Trading Limited",
            "Unit 1203, 12/F, Nan Fung Tower, 88 Connaught Road Central, Hong Kong",
            "Hong Kong",
            "CR 1234567",
            ("jewellery", "skincare"),
            "01",
        ),
    ),
}

IMPORTERS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "VN": (
        (
            "Công ty TNHH Thương Mại Dịch Vụ Sài Gòn Phát",
            "Số 12 Đường Lê Thánh Tôn, Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh, Việt Nam",
            "TP. Hồ Chí Minh",
            "0312345678",
        ),
        (
            "Công ty Cổ phần Phân Phối Hà Nội Xanh",
            "Số 88 Phố Láng Hạ, Phường Láng Hạ, Quận Đống Đa, Hà Nội, Việt Nam",
            "Hà Nội",
            "0101234567",
        ),
        (
            "Công ty TNHH Thực Phẩm Đà Nẵng Việt",
            "Số 88 Đường Nguyễn Văn Linh, Quận Hải Châu, TP. Đà Nẵng, Việt Nam",
            "Đà Nẵng",
            "0401234567",
        ),
        (
            "Công ty Cổ phần Thiết Bị Công Nghiệp Sao Việt",
            "Lô B2, Khu công nghiệp Thăng Long, Huyện Đông Anh, Hà Nội, Việt Nam",
            "Hà Nội",
            "0106543210",
        ),
    ),
    "TH": (
        (
            "บริษัท สยามฟู้ด ดิสทริบิวชั่น จำกัด (Siam Food Distribution Co., Ltd.)",
            "123 ถนนสุขุมวิท แขวงคลองเตย เขตคลองเตย กรุงเทพมหานคร 10110",
            "Bangkok",
            "0105560012345",
        ),
        (
            "Bangkok Industrial Supplies Co., Ltd.",
            "99/9 Rama IX Road, Huai Khwang, Bangkok 10310, Thailand",
            "Bangkok",
            "0105558023456",
        ),
        (
            "Chiang Mai Coffee Roasters Co., Ltd.",
            "45 Nimmanhaemin Road, Suthep, Mueang Chiang Mai, Chiang Mai 50200, Thailand",
            "Chiang Mai",
            "0505561034567",
        ),
    ),
    "MY": (
        (
            "Syarikat Perniagaan Beras Utara Sdn. Bhd.",
            "No. 21, Jalan Sultan Badlishah, 05000 Alor Setar, Kedah, Malaysia",
            "Alor Setar",
            "201501012345",
        ),
        (
            "KL Electronics Distribution Sdn. Bhd.",
            "Level 8, Menara Mutiara, Jalan Raja Chulan, 50200 Kuala Lumpur, Malaysia",
            "Kuala Lumpur",
            "200801023456",
        ),
        (
            "Borneo Seafood Trading Sdn. Bhd.",
            "Lot 7, Jalan Tun Abdul Razak, 93450 Kuching, Sarawak, Malaysia",
            "Kuching",
            "201101034567",
        ),
    ),
    "ID": (
        (
            "PT Pangan Sejahtera Indonesia",
            "Jl. Gatot Subroto Kav. 38, Kuningan Barat, Mampang Prapatan, Jakarta Selatan 12710, Indonesia",
            "Jakarta",
            "06.789.012.3-014.000",
        ),
        (
            "PT Elektronik Surya Abadi",
            "Jl. Rungkut Industri III No. 45, Surabaya, Jawa Timur 60293, Indonesia",
            "Surabaya",
            "07.890.123.4-609.000",
        ),
        (
            "PT Mebel Jepara Mandiri",
            "Jl. Raya Tahunan No. 17, Jepara, Jawa Tengah 59427, Indonesia",
            "Jepara",
            "08.901.234.5-516.000",
        ),
    ),
    "PH": (
        (
            "Manila Grains Trading Corporation",
            "1205 Tower One, Ayala Triangle, Ayala Avenue, Makati City 1226, Metro Manila, Philippines",
            "Makati City",
            "009-678-901-000",
        ),
        (
            "Parañaque Food Importers, Inc.",
            "Lot 5, Dr. A. Santos Avenue, San Dionisio, Parañaque City 1700, Philippines",
            "Parañaque City",
            "010-789-012-000",
        ),
        (
            "Las Piñas Home Furnishings Corp.",
            "Alabang–Zapote Road, Talon Uno, Las Piñas City 1747, Philippines",
            "Las Piñas City",
            "011-890-123-000",
        ),
    ),
    "SG": (
        (
            "Marina Bay Commodities Pte. Ltd.",
            "10 Marina Boulevard, #22-01, Marina Bay Financial Centre Tower 2, Singapore 018983",
            "Singapore",
            "201512345R",
        ),
        (
            "Pasir Panjang Fresh Produce Pte. Ltd.",
            "Blk 15 Pasir Panjang Wholesale Centre, #01-42, Singapore 110015",
            "Singapore",
            "199712345W",
        ),
    ),
    "KH": (
        (
            "Mekong Import Export Co., Ltd.",
            "No. 128, Preah Monivong Boulevard, Sangkat Srah Chak, Khan Daun Penh, Phnom Penh, Cambodia",
            "Phnom Penh",
            "L001-903456789",
        ),
        (
            "Siem Reap Construction Materials Co., Ltd.",
            "National Road 6, Sangkat Sla Kram, Siem Reap, Cambodia",
            "Siem Reap",
            "L001-904567890",
        ),
    ),
    "LA": (
        (
            "Vientiane Commercial Import Co., Ltd.",
            "Lane Xang Avenue, Ban Hatsady, Chanthabouly District, Vientiane Capital, Lao PDR",
            "Vientiane Capital",
            "0345678901",
        ),
        (
            "Pakse Trading Sole Co., Ltd.",
            "Road No. 13 South, Ban Phonkong, Pakse, Champasak, Lao PDR",
            "Pakse",
            "0456789012",
        ),
    ),
    "MM": (
        (
            "Mandalay Consumer Goods Co., Ltd.",
            "No. 78, 26th Street, Chanayethazan Township, Mandalay, Myanmar",
            "Mandalay",
            "103456789",
        ),
        (
            "Yangon Industrial Import Co., Ltd.",
            "No. 9, Pyay Road, Kamaryut Township, Yangon, Myanmar",
            "Yangon",
            "104567890",
        ),
    ),
    "BN": (
        (
            "Syarikat Perniagaan Seri Kenangan Sdn. Bhd.",
            "Unit 5, Bangunan Haji Tahir, Jalan Gadong, Bandar Seri Begawan BE4119, Brunei Darussalam",
            "Bandar Seri Begawan",
            "RC/00023456",
        ),
    ),
    "CN": (
        (
            "Guangzhou Southern Grain & Oil Co., Ltd.",
            "No. 88 Huangpu Avenue West, Tianhe District, Guangzhou, Guangdong 510620, China",
            "Guangzhou",
            "91440101MA59345678",
        ),
        (
            "上海东方食品贸易有限公司 (Shanghai Oriental Food Trading Co., Ltd.)",
            "No. 1000 Lujiazui Ring Road, Pudong New Area, Shanghai 200120, China",
            "Shanghai",
            "91310115MA1H456789",
        ),
        (
            "Dongguan Precision Components Trading Co., Ltd.",
            "No. 6 Songshan Lake Avenue, Dongguan, Guangdong 523808, China",
            "Dongguan",
            "91441900MA4W567890",
        ),
    ),
    "KR": (
        (
            "Busan Seafood Distribution Co., Ltd.",
            "45 Jungang-daero, Jung-gu, Busan 48939, Republic of Korea",
            "Busan",
            "602-81-23456",
        ),
        (
            "Incheon Industrial Trading Co., Ltd.",
            "88 Songdo-dong, Yeonsu-gu, Incheon 21984, Republic of Korea",
            "Incheon",
            "131-86-34567",
        ),
    ),
    "JP": (
        (
            "Osaka Trading Kabushiki Kaisha (大阪トレーディング株式会社)",
            "4-1-3 Kitahama, Chuo-ku, Osaka 541-0041, Japan",
            "Osaka",
            "1200001234567",
        ),
    ),
    "AU": (
        (
            "Harbourside Foods Pty Ltd",
            "Unit 4, 12 Botany Road, Alexandria NSW 2015, Australia",
            "Sydney",
            "ABN 98 765 432 109",
        ),
        (
            "Melbourne Home & Hardware Imports Pty Ltd",
            "35 Dock Road, Port Melbourne VIC 3207, Australia",
            "Melbourne",
            "ABN 45 678 901 234",
        ),
    ),
    "NZ": (
        (
            "Aotearoa Imports Limited",
            "22 Maritime Square, Tauranga 3110, New Zealand",
            "Tauranga",
            "NZBN 9429047654321",
        ),
    ),
    "IN": (
        (
            "Chennai Commodities Pvt. Ltd.",
            "No. 45, Rajaji Salai, George Town, Chennai 600001, India",
            "Chennai",
            "33AABCC5678K1Z2",
        ),
    ),
    "HK": (
        (
            "Kowloon Food Wholesale Limited",
            "Flat B, 8/F, Kwai Cheong Centre, 50 Kwai Cheong Road, Kwai Chung, New Territories, Hong Kong",
            "Hong Kong",
            "CR 2345678",
        ),
        (
            "Kwun Tong Electronics Trading Limited",
            "Room 1808, 18/F, Millennium City 5, 418 Kwun Tong Road, Kowloon, Hong Kong",
            "Hong Kong",
            "CR 3456789",
        ),
    ),
    "US": (
        (
            "Pacific Gateway Imports LLC",
            "1200 Harbor Boulevard, Long Beach, CA 90802, United States",
            "Long Beach",
            "EIN 95-1234567",
        ),
    ),
    "NL": (
        (
            "Rotterdam Fresh Produce B.V.",
            "Marconistraat 16, 3029 AK Rotterdam, Netherlands",
            "Rotterdam",
            "KvK 24123456",
        ),
    ),
    "DE": (
        ("Hamburger Gewürz- und Kaffeehandel GmbH", "Sandtorkai 44, 20457 Hamburg, Germany", "Hamburg", "HRB 123456"),
    ),
    "AE": (
        (
            "Gulf Fresh Foods Trading L.L.C.",
            "Warehouse 12, Al Aweer Fruit & Vegetable Market, Dubai, United Arab Emirates",
            "Dubai",
            "TRN 100123456700003",
        ),
    ),
    "TW": (
        (
            "Formosa Fruit Trading Co., Ltd.",
            "No. 100, Section 2, Zhongshan North Road, Taipei 10449, Taiwan",
            "Taipei",
            "12345678",
        ),
    ),
}

# importers that buy only one kind of goods (the others buy anything)
_FOOD_IMPORTERS = frozenset(
    (
        "Công ty TNHH Thực Phẩm Đà Nẵng Việt",
        "บริษัท สยามฟู้ด ดิสทริบิวชั่น จำกัด (Siam Food Distribution Co., Ltd.)",
        "Chiang Mai Coffee Roasters Co., Ltd.",
        "Syarikat Perniagaan Beras Utara Sdn. Bhd.",
        "Borneo Seafood Trading Sdn. Bhd.",
        "PT Pangan Sejahtera Indonesia",
        "Manila Grains Trading Corporation",
        "Parañaque Food Importers, Inc.",
        "Pasir Panjang Fresh Produce Pte. Ltd.",
        "Guangzhou Southern Grain & Oil Co., Ltd.",
        "上海东方食品贸易有限公司 (Shanghai Oriental Food Trading Co., Ltd.)",
        "Busan Seafood Distribution Co., Ltd.",
        "Harbourside Foods Pty Ltd",
        "Kowloon Food Wholesale Limited",
        "Rotterdam Fresh Produce B.V.",
        "Hamburger Gewürz- und Kaffeehandel GmbH",
        "Gulf Fresh Foods Trading L.L.C.",
        "Formosa Fruit Trading Co., Ltd.",
    )
)
_INDUSTRIAL_IMPORTERS = frozenset(
    (
        "Công ty Cổ phần Thiết Bị Công Nghiệp Sao Việt",
        "Bangkok Industrial Supplies Co., Ltd.",
        "KL Electronics Distribution Sdn. Bhd.",
        "PT Elektronik Surya Abadi",
        "PT Mebel Jepara Mandiri",
        "Las Piñas Home Furnishings Corp.",
        "Siem Reap Construction Materials Co., Ltd.",
        "Yangon Industrial Import Co., Ltd.",
        "Dongguan Precision Components Trading Co., Ltd.",
        "Incheon Industrial Trading Co., Ltd.",
        "Melbourne Home & Hardware Imports Pty Ltd",
        "Kwun Tong Electronics Trading Limited",
    )
)
#: (country, "food" | "industrial") -> importers buying that kind of goods
_BUYERS: dict[tuple[str, str], tuple] = {}
for _country, _entries in IMPORTERS.items():
    for _sector, _exclude in (("food", _INDUSTRIAL_IMPORTERS), ("industrial", _FOOD_IMPORTERS)):
        _BUYERS[(_country, _sector)] = tuple(e for e in _entries if e[0] not in _exclude) or _entries

# --------------------------------------------------------------------------------------------------
# ports: (name, UN/LOCODE or None)

SEAPORTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "VN": (
        ("Cảng Cát Lái, TP. Hồ Chí Minh", "VNCLI"),
        ("Cảng Hải Phòng", "VNHPH"),
        ("Cảng Cái Mép – Thị Vải, Bà Rịa – Vũng Tàu", "VNCMT"),
        ("Cảng Tiên Sa, Đà Nẵng", "VNDAD"),
        ("Cảng Quy Nhơn", "VNUIH"),
    ),
    "TH": (
        ("Laem Chabang", "THLCH"),
        ("Bangkok Port (Khlong Toei)", "THBKK"),
        ("Songkhla", "THSGZ"),
        ("Map Ta Phut", "THMAT"),
    ),
    "MY": (
        ("Port Klang", "MYPKG"),
        ("Penang Port", "MYPEN"),
        ("Tanjung Pelepas", "MYTPP"),
        ("Pasir Gudang", "MYPGU"),
        ("Kuantan", "MYKUA"),
        ("Bintulu", "MYBTU"),
    ),
    "ID": (
        ("Tanjung Priok, Jakarta", "IDTPP"),
        ("Tanjung Perak, Surabaya", "IDSUB"),
        ("Belawan, Medan", "IDBLW"),
        ("Tanjung Emas, Semarang", "IDSRG"),
        ("Dumai", "IDDUM"),
    ),
    "PH": (
        ("Manila International Container Terminal", "PHMNL"),
        ("Port of Davao", "PHDVO"),
        ("Port of Cebu", "PHCEB"),
        ("Port of Batangas", "PHBTG"),
        ("Subic Bay", "PHSFS"),
    ),
    "SG": (("Singapore, Pasir Panjang Terminal", "SGSIN"), ("Jurong Port, Singapore", "SGSIN")),
    "KH": (("Sihanoukville Autonomous Port", "KHKOS"), ("Phnom Penh Autonomous Port", "KHPNH")),
    "LA": (),
    "MM": (("Yangon, Asia World Port Terminal", "MMRGN"), ("Thilawa, Yangon", None)),
    "BN": (("Muara Port", "BNMUA"),),
    "CN": (
        ("Shanghai", "CNSHA"),
        ("Shenzhen (Yantian)", "CNYTN"),
        ("Qingdao", "CNTAO"),
        ("Ningbo", "CNNGB"),
        ("Guangzhou (Nansha)", "CNCAN"),
    ),
    "KR": (("Busan", "KRPUS"), ("Incheon", "KRINC")),
    "JP": (("Tokyo", "JPTYO"), ("Yokohama", "JPYOK"), ("Osaka", "JPOSA"), ("Nagoya", "JPNGO"), ("Kobe", "JPUKB")),
    "AU": (("Sydney (Port Botany)", "AUSYD"), ("Melbourne", "AUMEL"), ("Brisbane", "AUBNE"), ("Fremantle", "AUFRE")),
    "NZ": (("Auckland", "NZAKL"), ("Tauranga", "NZTRG")),
    "IN": (("Nhava Sheva (JNPT)", "INNSA"), ("Chennai", "INMAA"), ("Mundra", "INMUN")),
    "HK": (("Hong Kong, Kwai Tsing Container Terminals", "HKHKG"),),
    "US": (("Long Beach", "USLGB"), ("Los Angeles", "USLAX")),
    "NL": (("Rotterdam", "NLRTM"),),
    "DE": (("Hamburg", "DEHAM"),),
    "AE": (("Jebel Ali", "AEJEA"),),
    "TW": (("Kaohsiung", "TWKHH"),),
}
AIRPORTS: dict[str, tuple[str, str | None]] = {
    "VN": ("Sân bay quốc tế Tân Sơn Nhất, TP. Hồ Chí Minh", "VNSGN"),
    "TH": ("Suvarnabhumi Airport, Bangkok", "THBKK"),
    "MY": ("Kuala Lumpur International Airport (KLIA)", "MYKUL"),
    "ID": ("Soekarno–Hatta International Airport, Jakarta", "IDCGK"),
    "PH": ("Ninoy Aquino International Airport, Manila", "PHMNL"),
    "SG": ("Singapore Changi Airport", "SGSIN"),
    "KH": ("Phnom Penh International Airport", "KHPNH"),
    "LA": ("Wattay International Airport, Vientiane", "LAVTE"),
    "MM": ("Yangon International Airport", "MMRGN"),
    "BN": ("Brunei International Airport", "BNBWN"),
    "CN": ("Guangzhou Baiyun International Airport", "CNCAN"),
    "KR": ("Incheon International Airport", "KRINC"),
    "JP": ("Narita International Airport", "JPNRT"),
    "AU": ("Sydney Kingsford Smith Airport", "AUSYD"),
    "NZ": ("Auckland Airport", "NZAKL"),
    "IN": ("Chhatrapati Shivaji Maharaj International Airport, Mumbai", "INBOM"),
    "HK": ("Hong Kong International Airport", "HKHKG"),
    "US": ("Los Angeles International Airport", "USLAX"),
    "NL": ("Amsterdam Airport Schiphol", "NLAMS"),
    "DE": ("Frankfurt Airport", "DEFRA"),
    "AE": ("Dubai International Airport", "AEDXB"),
    "TW": ("Taoyuan International Airport", "TWTPE"),
}
AIRLINES = {
    "VN": "VN",
    "TH": "TG",
    "MY": "MH",
    "ID": "GA",
    "PH": "PR",
    "SG": "SQ",
    "KH": "K6",
    "LA": "QV",
    "MM": "8M",
    "BN": "BI",
    "CN": "CZ",
    "KR": "KE",
    "JP": "NH",
    "AU": "QF",
    "NZ": "NZ",
    "IN": "AI",
    "HK": "CX",
}
# land crossings between neighbours: (exporting, importing) -> (exit point, entry point)
LAND_CROSSINGS: dict[tuple[str, str], tuple[str, str]] = {
    ("VN", "KH"): ("Cửa khẩu Quốc tế Mộc Bài, Tây Ninh", "Bavet International Border Checkpoint"),
    ("KH", "VN"): ("Bavet International Border Checkpoint", "Cửa khẩu Quốc tế Mộc Bài, Tây Ninh"),
    ("VN", "LA"): ("Cửa khẩu Quốc tế Lao Bảo, Quảng Trị", "Dansavanh International Checkpoint, Savannakhet"),
    ("LA", "VN"): ("Dansavanh International Checkpoint, Savannakhet", "Cửa khẩu Quốc tế Lao Bảo, Quảng Trị"),
    ("TH", "LA"): ("Nong Khai Customs House (Thai–Lao Friendship Bridge)", "Thanaleng Dry Port, Vientiane"),
    ("LA", "TH"): ("Thanaleng Dry Port, Vientiane", "Nong Khai Customs House (Thai–Lao Friendship Bridge)"),
    ("TH", "MY"): ("Sadao Customs House, Songkhla", "Bukit Kayu Hitam ICQS, Kedah"),
    ("MY", "TH"): ("Bukit Kayu Hitam ICQS, Kedah", "Sadao Customs House, Songkhla"),
    ("TH", "KH"): ("Aranyaprathet Customs House, Sa Kaeo", "Poipet International Border Checkpoint"),
    ("KH", "TH"): ("Poipet International Border Checkpoint", "Aranyaprathet Customs House, Sa Kaeo"),
    ("TH", "MM"): ("Mae Sot Customs House, Tak", "Myawaddy Border Trade Zone"),
    ("MM", "TH"): ("Myawaddy Border Trade Zone", "Mae Sot Customs House, Tak"),
    ("MY", "SG"): ("Bangunan Sultan Iskandar, Johor Bahru", "Woodlands Checkpoint"),
    ("SG", "MY"): ("Woodlands Checkpoint", "Bangunan Sultan Iskandar, Johor Bahru"),
    ("VN", "CN"): ("Cửa khẩu Hữu Nghị, Lạng Sơn", "Youyiguan Port, Pingxiang, Guangxi"),
    ("CN", "VN"): ("Youyiguan Port, Pingxiang, Guangxi", "Cửa khẩu Hữu Nghị, Lạng Sơn"),
}
VESSELS = (
    "WAN HAI 302",
    "KMTC JAKARTA",
    "SITC MANILA",
    "INTERASIA PURSUIT",
    "MAERSK SELETAR",
    "ONE COMMITMENT",
    "CMA CGM TAGE",
    "EVER CONNECT",
    "YM INSTRUCTION",
    "HMM BLESSING",
    "GREEN PACIFIC",
    "SITC HAIPHONG",
    "KMTC HOCHIMINH",
    "NORTHERN GUARD",
    "PACIFIC CARRIER",
    "TS BANGKOK",
    "OOCL BRISBANE",
    "HAIAN VIEW",
    "VIMC PIONEER",
    "GLORY SHENGDONG",
    "MSC CAPE TOWN III",
    "ZIM XIAMEN",
)

# --------------------------------------------------------------------------------------------------
# goods: key -> (hs, descriptions, package kinds, (min, max) packages, kg per package, (min, max) USD price,
#                origin criteria, (min, max) pieces per package or None, piece unit)
# price is per kg when pieces is None, else per piece

GOODS: dict[str, tuple] = {
    "rice": (
        "100630",
        (
            "Long grain white rice, 5% broken, double polished, sortexed",
            "Jasmine fragrant rice, 5% broken, new crop",
            "Glutinous rice, 10% broken",
            "Parboiled long grain rice, 5% broken",
        ),
        ("PP bags", "BOPP bags"),
        (400, 4000),
        50,
        (0.45, 0.75),
        ("WO",),
        None,
        None,
    ),
    "rice_hommali": (
        "100630",
        ("Thai Hom Mali rice 100% grade B (ข้าวหอมมะลิไทย)", "Thai white rice 5% broken"),
        ("PP bags",),
        (400, 3000),
        50,
        (0.55, 1.1),
        ("WO",),
        None,
        None,
    ),
    "rice_st25": (
        "100630",
        ("ST25 fragrant rice, 5% broken (gạo thơm ST25)", "Jasmine 85 rice, 5% broken"),
        ("PP bags", "carton boxes of 10 x 2 kg"),
        (500, 2000),
        25,
        (0.7, 1.2),
        ("WO",),
        None,
        None,
    ),
    "coffee": (
        "090111",
        (
            "Robusta green coffee beans, grade 1, screen 18, wet polished",
            "Robusta green coffee beans, grade 2, screen 13, 5% black & broken",
            "Arabica green coffee beans, screen 16, fully washed",
        ),
        ("jute bags",),
        (300, 320),
        60,
        (2.2, 5.5),
        ("WO",),
        None,
        None,
    ),
    "coffee_roasted": (
        "090121",
        ("Roasted coffee beans, not decaffeinated, medium roast", "Roasted ground coffee, 500 g valve bags"),
        ("cartons",),
        (100, 1200),
        12,
        (6.0, 14.0),
        ("WO", "CTH"),
        None,
        None,
    ),
    "rubber_svr": (
        "400122",
        ("Natural rubber SVR 10", "Natural rubber SVR 3L", "Natural rubber SVR CV60"),
        ("bales on pallets", "bales"),
        (576, 1152),
        35,
        (1.35, 1.95),
        ("WO",),
        None,
        None,
    ),
    "rubber_str": (
        "400122",
        ("Technically specified natural rubber STR 20", "Natural rubber STR 5L"),
        ("bales", "bales on wooden pallets"),
        (576, 1152),
        35,
        (1.35, 1.95),
        ("WO",),
        None,
        None,
    ),
    "rubber_smr": (
        "400122",
        ("Standard Malaysian Rubber SMR 20", "Standard Malaysian Rubber SMR CV60"),
        ("bales",),
        (576, 1152),
        33.33,
        (1.35, 1.95),
        ("WO",),
        None,
        None,
    ),
    "rubber_sir": (
        "400122",
        ("Standard Indonesian Rubber SIR 20", "Standard Indonesian Rubber SIR 10"),
        ("bales",),
        (576, 1152),
        35,
        (1.35, 1.95),
        ("WO",),
        None,
        None,
    ),
    "shrimp": (
        "030617",
        (
            "Frozen black tiger shrimp (Penaeus monodon), headless shell-on, size 16/20",
            "Frozen whiteleg shrimp (Litopenaeus vannamei), peeled and deveined, tail-on, size 31/40",
            "Frozen vannamei shrimp, head-on shell-on, size 40/50, block frozen",
        ),
        ("cartons",),
        (800, 2400),
        12,
        (6.5, 14.0),
        ("WO",),
        None,
        None,
    ),
    "shrimp_cooked": (
        "160521",
        (
            "Cooked frozen vannamei shrimp, peeled and deveined, tail-on, ring 200 g",
            "Breaded shrimp (tempura), frozen, 10 pieces per tray",
        ),
        ("cartons",),
        (600, 2000),
        10,
        (9.0, 15.0),
        ("WO", "CTH"),
        None,
        None,
    ),
    "pangasius": (
        "030462",
        (
            "Frozen pangasius fillets (Pangasius hypophthalmus), well-trimmed, 170-220 g",
            "Frozen pangasius fillets, skinless boneless, IQF, 10% glazing",
        ),
        ("cartons",),
        (1800, 2400),
        10,
        (2.0, 3.2),
        ("WO",),
        None,
        None,
    ),
    "cashew": (
        "080132",
        ("Cashew kernels WW320", "Cashew kernels WW240", "Cashew kernels WS (white scorched)"),
        ("tins in cartons (2 x 25 lb)",),
        (400, 700),
        22.68,
        (5.5, 8.0),
        ("CTSH", "RVC 40%", "WO"),
        None,
        None,
    ),
    "cashew_raw": (
        "080131",
        ("Raw cashew nuts in shell, outturn 48 lbs, nut count 190/kg",),
        ("jute bags",),
        (200, 400),
        80,
        (1.1, 1.6),
        ("WO",),
        None,
        None,
    ),
    "pepper": (
        "090411",
        (
            "Black pepper 500 g/l, FAQ, machine cleaned",
            "White pepper 630 g/l, double washed",
            "Black pepper 550 g/l ASTA quality",
        ),
        ("PP bags",),
        (300, 500),
        50,
        (3.0, 7.0),
        ("WO",),
        None,
        None,
    ),
    "tapioca": (
        "110814",
        ("Native tapioca starch, moisture max 13%, whiteness min 90%", "Cassava starch, food grade"),
        ("PP bags", "jumbo bags"),
        (400, 1000),
        50,
        (0.42, 0.6),
        ("WO", "PE"),
        None,
        None,
    ),
    "cassava_chips": (
        "071410",
        ("Dried cassava chips, starch min 70%",),
        ("in bulk",),
        (1, 1),
        25000,
        (0.22, 0.3),
        ("WO",),
        None,
        None,
    ),
    "sugar": (
        "170114",
        ("Raw cane sugar, polarization min 96 degrees", "Thai raw cane sugar, Hi-Pol 98.5"),
        ("PP bags",),
        (1000, 5000),
        50,
        (0.4, 0.6),
        ("WO",),
        None,
        None,
    ),
    "sugar_refined": (
        "170199",
        ("Refined white cane sugar ICUMSA 45, crop 2024/25",),
        ("PP bags",),
        (1000, 5000),
        50,
        (0.5, 0.75),
        ("CTSH", "WO"),
        None,
        None,
    ),
    "tuna_canned": (
        "160414",
        (
            "Canned skipjack tuna chunks in vegetable oil, 185 g, 48 cans per carton",
            "Canned tuna flakes in brine, 170 g",
        ),
        ("cartons",),
        (1500, 2800),
        9.5,
        (3.5, 6.0),
        ("CC", "WO"),
        None,
        None,
    ),
    "pineapple_canned": (
        "200820",
        (
            "Canned pineapple slices in light syrup, 20 oz, 24 cans per carton",
            "Canned pineapple tidbits in juice, A10 cans",
        ),
        ("cartons",),
        (1200, 2000),
        15,
        (1.0, 1.6),
        ("WO", "CC"),
        None,
        None,
    ),
    "banana": (
        "080390",
        ("Fresh Cavendish bananas, class A, 13.5 kg cartons", "Fresh Lakatan bananas"),
        ("cartons",),
        (1080, 1540),
        13.5,
        (0.5, 0.85),
        ("WO",),
        None,
        None,
    ),
    "durian": (
        "081060",
        (
            "Fresh Monthong durian (ทุเรียนหมอนทอง), grade A",
            "Fresh Ri6 durian (sầu riêng Ri6)",
            "Fresh Musang King durian",
        ),
        ("cartons",),
        (800, 1200),
        18,
        (3.5, 8.0),
        ("WO",),
        None,
        None,
    ),
    "mango": (
        "080450",
        ("Fresh Cát Chu mangoes", "Fresh Nam Dok Mai mangoes", "Fresh Carabao mangoes"),
        ("cartons",),
        (1000, 2500),
        5,
        (1.2, 2.6),
        ("WO",),
        None,
        None,
    ),
    "dragon_fruit": (
        "081090",
        ("Fresh white-flesh dragon fruit (thanh long ruột trắng)", "Fresh red-flesh dragon fruit"),
        ("cartons",),
        (1500, 2500),
        10,
        (0.9, 1.8),
        ("WO",),
        None,
        None,
    ),
    "coconut_oil": (
        "151311",
        ("Crude coconut oil, FFA max 5%",),
        ("flexitanks",),
        (1, 20),
        20000,
        (1.0, 1.6),
        ("WO",),
        None,
        None,
    ),
    "desiccated_coconut": (
        "080111",
        ("Desiccated coconut, fine grade, low fat", "Desiccated coconut, medium grade, high fat"),
        ("multiwall paper bags",),
        (500, 1000),
        25,
        (1.8, 2.8),
        ("WO",),
        None,
        None,
    ),
    "cpo": (
        "151110",
        ("Crude palm oil (CPO), FFA max 5%, in bulk",),
        ("flexitanks", "in bulk"),
        (1, 20),
        20000,
        (0.8, 1.1),
        ("WO",),
        None,
        None,
    ),
    "olein": (
        "151190",
        ("RBD palm olein, IV 56 min", "RBD palm olein, CP 10, in 18 L jerry cans"),
        ("flexitanks", "jerry cans"),
        (1, 20),
        20000,
        (0.9, 1.2),
        ("CTSH", "WO"),
        None,
        None,
    ),
    "cocoa_butter": (
        "180400",
        ("Pure prime pressed cocoa butter, deodorised",),
        ("cartons",),
        (800, 1000),
        25,
        (6.0, 9.5),
        ("CTH", "RVC 40%"),
        None,
        None,
    ),
    "instant_noodles": (
        "190230",
        (
            "Instant noodles, hot and sour shrimp flavour, 30 packs x 75 g per carton",
            "Instant rice vermicelli (phở ăn liền), 30 bowls x 65 g",
        ),
        ("cartons",),
        (1500, 3000),
        2.6,
        (1.4, 2.4),
        ("RVC 40%", "CTH"),
        None,
        None,
    ),
    "cement": (
        "252329",
        ("Portland cement PCB40, 50 kg bags", "Portland cement PCB50, jumbo bags"),
        ("PP bags", "jumbo bags"),
        (2000, 20000),
        50,
        (0.05, 0.075),
        ("RVC 40%", "CTH"),
        None,
        None,
    ),
    "tea": (
        "090240",
        ("Black tea OP grade, orthodox", "Black tea BOP, CTC"),
        ("paper sacks",),
        (300, 600),
        50,
        (1.3, 2.5),
        ("WO",),
        None,
        None,
    ),
    "wood_pellets": (
        "440131",
        ("Wood pellets from acacia and rubberwood, 6 mm, ash < 1.5%",),
        ("jumbo bags",),
        (200, 1000),
        1000,
        (0.11, 0.15),
        ("WO",),
        None,
        None,
    ),
    "maize": (
        "100590",
        ("Yellow maize (corn) for animal feed, moisture max 14.5%",),
        ("PP bags", "in bulk"),
        (400, 1000),
        50,
        (0.22, 0.3),
        ("WO",),
        None,
        None,
    ),
    "orchids": (
        "060313",
        ("Fresh cut Dendrobium orchids, 50 cm, grade A",),
        ("cartons",),
        (100, 600),
        6,
        (4.0, 9.0),
        ("WO",),
        (200, 200),
        "PCE",
    ),
    "mung_beans": (
        "071331",
        ("Green mung beans (Vigna radiata), machine cleaned, crop 2024",),
        ("PP bags",),
        (400, 1000),
        50,
        (0.8, 1.2),
        ("WO",),
        None,
        None,
    ),
    "laptops": (
        "847130",
        (
            "Portable computers (notebooks), 14-inch, Intel Core i5, 16 GB RAM, 512 GB SSD",
            "Notebook computers, 15.6-inch, AMD Ryzen 7",
        ),
        ("cartons",),
        (40, 400),
        12,
        (350.0, 900.0),
        ("RVC 40%", "CTSH"),
        (5, 5),
        "PCE",
    ),
    "smartphones": (
        "851713",
        ("Smartphones, 6.5-inch, 128 GB, dual SIM", "Smartphones, 6.7-inch, 256 GB, 5G"),
        ("cartons",),
        (50, 500),
        8.5,
        (120.0, 420.0),
        ("RVC 40%", "CTSH"),
        (20, 20),
        "PCE",
    ),
    "ics": (
        "854231",
        (
            "Integrated circuits: processors and controllers, QFN package",
            "Electronic integrated circuits: microcontrollers, 32-bit ARM",
        ),
        ("reels in cartons",),
        (10, 120),
        4,
        (0.6, 12.0),
        ("RVC 40%", "CTSH"),
        (3000, 3000),
        "PCE",
    ),
    "solar": (
        "854143",
        ("Photovoltaic modules, monocrystalline, 550 Wp", "Photovoltaic modules, bifacial, 580 Wp"),
        ("pallets",),
        (20, 40),
        880,
        (60.0, 110.0),
        ("RVC 40%", "CTSH"),
        (31, 31),
        "PCE",
    ),
    "air_conditioners": (
        "841510",
        ("Split-system air conditioners, 12,000 BTU/h, inverter, R32", "Split-system air conditioners, 18,000 BTU/h"),
        ("cartons",),
        (100, 400),
        38,
        (180.0, 320.0),
        ("RVC 40%", "CTH"),
        (1, 1),
        "SET",
    ),
    "hdd": (
        "847170",
        ("Hard disk drives, 2.5-inch, 1 TB", "Hard disk drives, 3.5-inch, 8 TB enterprise"),
        ("cartons",),
        (40, 200),
        15,
        (30.0, 140.0),
        ("RVC 40%", "CTSH"),
        (50, 50),
        "PCE",
    ),
    "brake_pads": (
        "870830",
        ("Brake pads for passenger cars, mounted, front axle sets",),
        ("cartons",),
        (100, 600),
        18,
        (6.0, 14.0),
        ("RVC 40%", "CTH"),
        (20, 20),
        "SET",
    ),
    "tyres": (
        "401110",
        ("New pneumatic radial tyres for passenger cars, 205/55R16", "New pneumatic radial tyres, 265/65R17, SUV"),
        ("pieces",),
        (400, 1400),
        9,
        (25.0, 70.0),
        ("RVC 40%", "CTH"),
        (1, 1),
        "PCE",
    ),
    "pickups": (
        "870421",
        ("Pick-up trucks, 2.4 L diesel, double cab, GVW not exceeding 5 t",),
        ("units",),
        (4, 60),
        1900,
        (12000.0, 21000.0),
        ("RVC 40%",),
        (1, 1),
        "PCE",
    ),
    "gloves": (
        "401512",
        ("Nitrile examination gloves, powder-free, size M, 100 pieces per box",),
        ("cartons of 10 boxes",),
        (800, 2000),
        6,
        (0.025, 0.045),
        ("RVC 40%", "CTH"),
        (1000, 1000),
        "PCE",
    ),
    "tshirts": (
        "610910",
        ("Men's T-shirts, 100% cotton knitted jersey, crew neck", "Women's T-shirts of cotton, knitted, printed"),
        ("cartons",),
        (50, 600),
        9,
        (1.8, 5.5),
        ("RVC 40%", "CTH"),
        (36, 60),
        "PCE",
    ),
    "trousers": (
        "620342",
        ("Men's trousers of cotton denim, woven, 5-pocket jeans", "Men's chino trousers of cotton, woven"),
        ("cartons",),
        (50, 500),
        14,
        (4.0, 12.0),
        ("RVC 40%", "CTH"),
        (24, 36),
        "PCE",
    ),
    "womens_trousers": (
        "620462",
        ("Women's trousers of cotton, woven, stretch",),
        ("cartons",),
        (50, 500),
        12,
        (4.0, 11.0),
        ("RVC 40%", "CTH"),
        (24, 36),
        "PCE",
    ),
    "sneakers": (
        "640411",
        (
            "Sports footwear with rubber outer soles and textile uppers",
            "Running shoes, textile uppers, EVA/rubber soles",
        ),
        ("cartons",),
        (100, 800),
        8,
        (9.0, 28.0),
        ("RVC 40%", "CTH"),
        (12, 12),
        "PR",
    ),
    "tables": (
        "940360",
        ("Wooden dining tables of acacia wood, FSC certified", "Outdoor furniture of eucalyptus wood: folding tables"),
        ("cartons",),
        (60, 400),
        28,
        (35.0, 160.0),
        ("CTH", "RVC 40%"),
        (1, 1),
        "PCE",
    ),
    "armchairs": (
        "940161",
        ("Upholstered armchairs with wooden frames", "Sofas, upholstered, rubberwood frame"),
        ("cartons",),
        (60, 300),
        32,
        (45.0, 220.0),
        ("CTH", "RVC 40%"),
        (1, 1),
        "PCE",
    ),
    "wardrobes": (
        "940350",
        ("Wooden bedroom furniture: wardrobes of rubberwood, knock-down",),
        ("cartons",),
        (40, 200),
        55,
        (70.0, 240.0),
        ("CTH", "RVC 40%"),
        (1, 1),
        "SET",
    ),
    "rattan": (
        "940383",
        ("Rattan furniture: dining chairs, hand-woven",),
        ("cartons",),
        (80, 400),
        9,
        (25.0, 90.0),
        ("CTH", "WO"),
        (2, 2),
        "PCE",
    ),
    "plywood": (
        "441231",
        ("Plywood, outer plies of meranti (tropical wood), 18 mm, BB/CC",),
        ("crates",),
        (20, 60),
        600,
        (0.6, 0.9),
        ("CTH",),
        None,
        None,
    ),
    "tiles": (
        "690722",
        ("Glazed ceramic floor tiles, 600 x 600 mm, water absorption 3-6%",),
        ("pallets",),
        (20, 40),
        1100,
        (0.18, 0.32),
        ("RVC 40%", "CTH"),
        None,
        None,
    ),
    "medicaments": (
        "300490",
        ("Medicaments for retail sale: paracetamol 500 mg tablets, blister packs",),
        ("cartons",),
        (50, 300),
        10,
        (8.0, 20.0),
        ("RVC 40%", "CTH"),
        None,
        None,
    ),
    "methanol": (
        "290511",
        ("Methanol, purity min 99.85%, in bulk",),
        ("in bulk",),
        (1, 1),
        2000000,
        (0.25, 0.4),
        ("PE", "CTH"),
        None,
        None,
    ),
    "bicycles": (
        "871200",
        ("Bicycles, aluminium frame, 700C, 21-speed",),
        ("cartons",),
        (100, 400),
        17,
        (70.0, 180.0),
        ("RVC 40%",),
        (1, 1),
        "PCE",
    ),
    "garlic": (
        "070320",
        ("Fresh garlic, normal white, 5.5 cm up",),
        ("mesh bags",),
        (2000, 2600),
        10,
        (0.8, 1.5),
        ("WO",),
        None,
        None,
    ),
    "apples": (
        "080810",
        ("Fresh Fuji apples, 18 kg cartons",),
        ("cartons",),
        (1000, 1300),
        18,
        (1.0, 1.7),
        ("WO",),
        None,
        None,
    ),
    "skincare": (
        "330499",
        ("Skin care preparations: hydrating facial cream, 50 ml",),
        ("cartons",),
        (20, 200),
        8,
        (4.0, 12.0),
        ("RVC 40%", "CTH"),
        (48, 48),
        "PCE",
    ),
    "green_tea": (
        "090210",
        ("Green tea (not fermented), sencha, in packings of 100 g",),
        ("cartons",),
        (50, 300),
        10,
        (15.0, 35.0),
        ("WO",),
        None,
        None,
    ),
    "wheat": (
        "100199",
        ("Australian Premium White wheat, protein min 10.5%",),
        ("in bulk",),
        (1, 1),
        500000,
        (0.25, 0.33),
        ("WO",),
        None,
        None,
    ),
    "milk_powder": (
        "040221",
        ("Whole milk powder, 26% fat, 25 kg multiwall bags",),
        ("multiwall bags",),
        (400, 1000),
        25,
        (3.0, 4.2),
        ("WO",),
        None,
        None,
    ),
    "buffalo_meat": (
        "020230",
        ("Frozen boneless buffalo meat, halal",),
        ("cartons",),
        (1000, 1400),
        20,
        (3.0, 4.0),
        ("WO",),
        None,
        None,
    ),
    "jewellery": (
        "711319",
        ("Jewellery of 18K gold set with diamonds",),
        ("boxes",),
        (1, 10),
        2,
        (2500.0, 12000.0),
        ("CTH", "RVC 40%"),
        (10, 10),
        "PCE",
    ),
}
#: goods of HS chapters 01-24 (food and agricultural products)
_FOOD_GOODS = frozenset(k for k, g in GOODS.items() if int(g[0][:2]) <= 24)

# --------------------------------------------------------------------------------------------------
# small helpers


def _rng(rng: random.Random | int | None) -> random.Random:
    if isinstance(rng, random.Random):
        return rng
    return random.Random(0 if rng is None else rng)


def _num(x: float) -> int | float:
    """Round to 2 decimals; whole numbers as int (so they print as JavaScript does)."""
    x = round(x, 2)
    return int(x) if x == int(x) else x


def _amount(x: float) -> str:
    return f"{x:.2f}"


def _party(entry: tuple[Any, ...], country: str) -> dict[str, Any]:
    return {"name": entry[0], "address": entry[1], "country": country, "identifier": entry[3]}


def _port(entry: tuple[str, str | None]) -> dict[str, Any]:
    if entry[1] is None:
        return {"name": entry[0]}
    return {"name": entry[0], "unlocode": entry[1]}


def default_issuer_block(
    country: str = "VN",
    doc_type: str = "FORM_D",
    document_store: str = PLACEHOLDER_DOCUMENT_STORE,
    issuer_registry: str = PLACEHOLDER_ISSUER_REGISTRY,
) -> dict[str, Any]:
    """A placeholder ``issuers[0]``: the country's issuing authority with placeholder contract addresses."""
    if doc_type == "EPHYTO" and country in NPPOS:
        name = NPPOS[country][0]
    elif country in AUTHORITIES:
        name = AUTHORITIES[country][0]
    else:
        name = f"Issuing authority of {COUNTRY_NAMES.get(country, country)}"
    return {
        "name": name,
        "documentStore": document_store,
        "identityProof": {"type": "CERTNET-REGISTRY", "location": issuer_registry},
    }


def _copy_issuer(block: dict[str, Any]) -> list[dict[str, Any]]:
    proof = block["identityProof"]
    return [
        {
            "name": block["name"],
            "documentStore": block["documentStore"],
            "identityProof": {"type": proof["type"], "location": proof["location"]},
        }
    ]


def _transport_leg(r, exporting: str, importing: str, yy: str) -> tuple[str, str, dict, dict]:
    """mode, vessel/flight, port of loading, port of discharge."""
    x = r()
    land = LAND_CROSSINGS.get((exporting, importing))
    sea_from = SEAPORTS.get(exporting) or ()
    sea_to = SEAPORTS.get(importing) or ()
    if land is not None and (x < 0.35 or not sea_from or not sea_to):
        plate = (
            f"{int(r() * 89) + 10}C-{int(r() * 900) + 100}.{int(r() * 90) + 10}"
            if exporting == "VN"
            else f"{int(r() * 90) + 10}-{int(r() * 9000) + 1000}"
        )
        return "ROAD", f"Truck {plate}", {"name": land[0]}, {"name": land[1]}
    if x > 0.92 or not sea_from or not sea_to:
        airline = AIRLINES.get(exporting) or AIRLINES.get(importing) or "CX"
        return ("AIR", f"{airline} {int(r() * 900) + 100}", _port(AIRPORTS[exporting]), _port(AIRPORTS[importing]))
    vessel = VESSELS[int(r() * len(VESSELS))]
    voyage = f"V.{yy}{int(r() * 52) + 1:02d}{'NS'[int(r() * 2)]}"
    return (
        "SEA",
        f"{vessel} {voyage}",
        _port(sea_from[int(r() * len(sea_from))]),
        _port(sea_to[int(r() * len(sea_to))]),
    )


# --------------------------------------------------------------------------------------------------
# Form D


class _Counters:
    """Serial numbers per reference prefix, so that a generated stream never repeats a number."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def take(self, prefix: str) -> int:
        n = self._next.get(prefix, 0) + 1
        self._next[prefix] = n
        return n


def _pick_agreement(r, issuing: str) -> tuple[str, str]:
    """(agreement, importing country) for an exporter in ``issuing``."""
    if issuing not in ASEAN_LIST:
        mine = [agreement for agreement, partners in _PARTNER_AGREEMENTS if issuing in partners] or ["RCEP"]
        return mine[int(r() * len(mine))], _weighted_asean(r, issuing)
    x = r()
    if x < 0.86:
        return "ATIGA", _weighted_asean(r, issuing)
    agreement, partners = _PARTNER_AGREEMENTS[int(r() * len(_PARTNER_AGREEMENTS))]
    return agreement, partners[int(r() * len(partners))]


_CUM_WEIGHTS: list[int] = []
for _w in _ATIGA_WEIGHTS:
    _CUM_WEIGHTS.append((_CUM_WEIGHTS[-1] if _CUM_WEIGHTS else 0) + _w)


def _weighted_asean(r, exclude: str) -> str:
    total = _CUM_WEIGHTS[-1]
    while True:
        x = r() * total
        country = next(
            (c for c, limit in zip(_ATIGA_DESTINATIONS, _CUM_WEIGHTS, strict=True) if x < limit),
            _ATIGA_DESTINATIONS[-1],
        )
        if country != exclude:
            return country


def _goods_lines(
    r,
    exporting: str,
    basket: tuple[str, ...],
    count: int,
    invoice: dict[str, str],
    accumulation: bool,
    partial: bool,
    de_minimis: bool,
) -> list[dict[str, Any]]:
    # a shipment's lines are the exporter's own products: grades of one product first, then others
    first = basket[int(r() * len(basket))]
    descs = GOODS[first][1]
    turn = int(r() * len(descs))
    combos = [(first, descs[(turn + i) % len(descs)]) for i in range(len(descs))]
    for key in basket:
        if key != first:
            combos.extend((key, d) for d in GOODS[key][1])
    count = min(count, len(combos))
    criteria_used: dict[str, str] = {}
    lines = []
    for i in range(count):
        key, description = combos[i]
        hs, _descs, kinds, (pmin, pmax), kg, (lo, hi), criteria, pieces, unit = GOODS[key]
        n_pkg = pmin + int(r() * (pmax - pmin + 1))
        if count > 1 and pmax > 1:
            n_pkg = max(1, n_pkg // count)
        criterion = criteria_used.get(key)
        if criterion is None:
            criterion = criteria[int(r() * len(criteria))]
            if partial:
                criterion = f"PC {20 + int(r() * 20)}%"
            elif accumulation and criterion.startswith("RVC"):
                criterion = "RVC 40% + ACU" if r() < 0.5 else criterion
            elif de_minimis and criterion in ("CTH", "CTSH"):
                criterion = f"{criterion} + DMI"
            criteria_used[key] = criterion
        weight = n_pkg * kg
        line: dict[str, Any] = {
            "itemNumber": i + 1,
            "marksAndNumbers": "N/M" if r() < 0.3 else f"C/NO. 1-{n_pkg}\nMADE IN {COUNTRY_NAMES[exporting]}",
            "packages": {"count": n_pkg, "kind": kinds[int(r() * len(kinds))]},
            "description": description,
            "hsCode": hs,
            "originCriterion": criterion,
            "grossWeight": {"value": _num(weight * (1.004 + r() * 0.02)), "unit": "KGM"},
        }
        price = lo + r() * (hi - lo)
        if pieces is not None:
            qty = n_pkg * (pieces[0] + int(r() * (pieces[1] - pieces[0] + 1)))
            line["quantity"] = {"value": qty, "unit": unit}
            fob = qty * price
        else:
            fob = weight * price
        if "RVC" in criterion or r() < 0.8:
            line["fobValue"] = {"amount": _amount(fob), "currency": "USD"}
        line["invoice"] = {"number": invoice["number"], "date": invoice["date"]}
        lines.append(line)
    return lines


def _form_d(
    r,
    *,
    issuing: str,
    importing: str | None,
    agreement: str | None,
    reference: str | None,
    counters: _Counters | None,
    issuers: list,
    network: dict,
    lines: int | None,
) -> dict[str, Any]:
    if agreement is None and importing is None:
        agreement, importing = _pick_agreement(r, issuing)
    elif agreement is None:
        if importing in ASEAN_LIST and issuing in ASEAN_LIST:
            agreement = "ATIGA"
        else:
            partner = importing if importing not in ASEAN_LIST else issuing
            mine = [name for name, partners in _PARTNER_AGREEMENTS if partner in partners] or ["RCEP"]
            agreement = mine[int(r() * len(mine))]
    elif importing is None:
        partner = _AGREEMENT_PARTNER.get(agreement)
        importing = partner if partner and partner != issuing else _weighted_asean(r, issuing)
    assert importing is not None  # every branch above picks one

    day = _FIRST + int(r() * ISSUE_DAYS)
    issue_date = _DATES[day]
    yy = issue_date[2:4]
    x = r()
    retro = x < 0.03
    third = 0.03 <= x < 0.08
    back = 0.08 <= x < 0.09 and issuing in ("SG", "MY", "TH", "VN")
    exhibition = 0.09 <= x < 0.093
    y = r()
    accumulation = y < 0.05
    partial = 0.05 <= y < 0.06
    de_minimis = 0.06 <= y < 0.08

    departure = day - (10 + int(r() * 200) if retro else int(r() * 4))
    declaration_day = day - int(r() * 3)
    invoice_day = min(departure, declaration_day) - int(r() * 15)

    exporters = EXPORTERS.get(issuing) or EXPORTERS["VN"]
    exporter = exporters[int(r() * len(exporters))]
    importers = _BUYERS.get((importing, "food" if exporter[4][0] in _FOOD_GOODS else "industrial")) or IMPORTERS["SG"]
    consignee = importers[int(r() * len(importers))]
    authority, offices = AUTHORITIES.get(issuing, AUTHORITIES["VN"])
    office_code = exporter[5]
    office_place = next((place for code, place in offices if code == office_code), offices[0][1])

    if reference is None:
        prefix = f"{issuing}-{importing} {yy}/{office_code}/"
        serial = counters.take(prefix) if counters is not None else 1 + int(r() * 99999)
        reference = f"{prefix}{serial:05d}"

    mode, vessel, loading, discharge = _transport_leg(r, issuing, importing, yy)
    n_lines = lines if lines is not None else (1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 8)[int(r() * 14)]
    abbr = "".join(w[0] for w in exporter[0].split()[:4] if w[0].isalpha()).upper() or "INV"
    invoice = {"number": f"{abbr}-{yy}{int(r() * 9000) + 1000}", "date": _DATES[invoice_day]}

    signers = SIGNATORIES.get(issuing) or SIGNATORIES["VN"]
    doc: dict[str, Any] = {
        "documentType": "FORM_D",
        "referenceNumber": reference,
        "issuingCountry": issuing,
        "importingCountry": importing,
        "issueDate": issue_date,
        "network": {"chain": network["chain"], "chainId": network["chainId"], "name": network["name"]},
        "issuers": issuers,
        "agreement": agreement,
        "exporter": _party(exporter, issuing),
        "consignee": _party(consignee, importing),
        "transport": {
            "departureDate": _DATES[departure],
            "mode": mode,
            "vesselOrFlight": vessel,
            "portOfLoading": loading,
            "portOfDischarge": discharge,
        },
        "goods": _goods_lines(r, issuing, exporter[4], n_lines, invoice, accumulation, partial, de_minimis),
        "declaration": {
            "countryOfOrigin": issuing,
            "place": exporter[2],
            "date": _DATES[declaration_day],
            "signatory": signers[int(r() * len(signers))],
            "signatoryTitle": COMPANY_TITLES[int(r() * len(COMPANY_TITLES))],
        },
        "certification": {
            "authority": authority,
            "place": office_place,
            "date": issue_date,
            "signatory": signers[int(r() * len(signers))],
            "signatoryTitle": OFFICIAL_TITLES[int(r() * len(OFFICIAL_TITLES))],
        },
        "flags": {
            "thirdCountryInvoicing": third,
            "issuedRetroactively": retro,
            "backToBack": back,
            "exhibition": exhibition,
            "accumulation": accumulation,
            "partialCumulation": partial,
            "deMinimis": de_minimis,
        },
    }
    if third:
        hub = "SG" if "SG" not in (issuing, importing) else "HK"
        trader = (EXPORTERS.get(hub) or EXPORTERS["SG"])[0]
        doc["thirdCountryInvoice"] = {"operatorName": trader[0], "address": trader[1], "country": hub}
    if back:
        origins = [c for c in _agreement_parties(agreement) if c not in (issuing, importing)]
        origin = origins[int(r() * len(origins))]
        first_day = departure - 5 - int(r() * 60)
        doc["backToBack"] = {
            "referenceNumber": f"{origin}-{issuing} {_DATES[first_day][2:4]}/01/{int(r() * 99999) + 1:05d}",
            "issuingCountry": origin,
            "issueDate": _DATES[first_day],
        }
        doc["declaration"]["countryOfOrigin"] = origin
    if exhibition:
        city = (IMPORTERS.get(importing) or IMPORTERS["SG"])[0][2]
        doc["exhibition"] = {
            "name": f"ASEAN Trade Fair {issue_date[:4]}",
            "address": f"International Exhibition Centre, {city}",
        }
    if retro:
        doc["remarks"] = "ISSUED RETROACTIVELY"
    elif back:
        doc["remarks"] = "BACK-TO-BACK CERTIFICATE OF ORIGIN"
    return doc


def _agreement_parties(agreement: str) -> tuple[str, ...]:
    return ASEAN_LIST + dict(_PARTNER_AGREEMENTS).get(agreement, ())


def form_d(rng: random.Random | int | None = None, *, lines: int | None = None, **overrides: Any) -> dict[str, Any]:
    """One realistic Form D (``documentType: FORM_D``).

    ``issuingCountry``, ``importingCountry`` and ``agreement`` given as overrides steer the content (an
    exporter of that country, a consignee of that one, the agreement's form); ``lines`` fixes the number
    of goods lines; any other top-level field given replaces the generated one (``issuers``,
    ``network``, ``referenceNumber``...).
    """
    r = _rng(rng).random
    issuing = overrides.get("issuingCountry") or _ISSUING_WEIGHTED[int(r() * len(_ISSUING_WEIGHTED))]
    network = overrides.pop("network", None) or DEFAULT_NETWORK
    issuers = overrides.pop("issuers", None) or _copy_issuer(default_issuer_block(issuing, "FORM_D"))
    doc = _form_d(
        r,
        issuing=issuing,
        importing=overrides.get("importingCountry"),
        agreement=overrides.get("agreement"),
        reference=overrides.get("referenceNumber"),
        counters=None,
        issuers=issuers,
        network=network,
        lines=lines,
    )
    doc.update(overrides)
    return doc


# --------------------------------------------------------------------------------------------------
# ePhyto

# key -> (descriptions, scientific name, common name, hs, kg per package, package kinds, (min, max) packages,
#         treatment profile, pest declarations)
PLANTS: dict[str, tuple] = {
    "dragon_fruit": (
        ("Fresh dragon fruit for consumption",),
        "Selenicereus undatus",
        "Dragon fruit (thanh long)",
        "081090",
        10,
        ("cartons",),
        (1500, 2500),
        "vht",
        ("Bactrocera dorsalis", "Bactrocera correcta"),
    ),
    "mango": (
        ("Fresh mango fruit for consumption",),
        "Mangifera indica",
        "Mango",
        "080450",
        5,
        ("cartons",),
        (1000, 2500),
        "hot_water",
        ("Bactrocera dorsalis", "Sternochetus mangiferae"),
    ),
    "durian": (
        ("Fresh durian fruit for consumption",),
        "Durio zibethinus",
        "Durian",
        "081060",
        18,
        ("cartons",),
        (800, 1200),
        None,
        ("Dysmicoccus neobrevipes", "Planococcus lilacinus"),
    ),
    "longan": (
        ("Fresh longan fruit for consumption",),
        "Dimocarpus longan",
        "Longan",
        "081090",
        10,
        ("cartons",),
        (1500, 2000),
        "so2",
        ("Conogethes punctiferalis",),
    ),
    "banana": (
        ("Fresh Cavendish bananas for consumption",),
        "Musa acuminata",
        "Banana",
        "080390",
        13.5,
        ("cartons",),
        (1080, 1540),
        None,
        ("Mycosphaerella fijiensis",),
    ),
    "rice": (
        ("Milled rice for consumption",),
        "Oryza sativa",
        "Rice",
        "100630",
        50,
        ("PP bags",),
        (400, 4000),
        "phosphine",
        ("Trogoderma granarium",),
    ),
    "coffee": (
        ("Green coffee beans for processing",),
        "Coffea canephora",
        "Robusta coffee",
        "090111",
        60,
        ("jute bags",),
        (300, 320),
        "phosphine",
        ("Hypothenemus hampei",),
    ),
    "pepper": (
        ("Dried black pepper for consumption",),
        "Piper nigrum",
        "Black pepper",
        "090411",
        50,
        ("PP bags",),
        (300, 500),
        "mb",
        ("Lasioderma serricorne",),
    ),
    "cassava": (
        ("Dried cassava chips for processing",),
        "Manihot esculenta",
        "Cassava",
        "071410",
        50,
        ("PP bags",),
        (400, 1000),
        "phosphine",
        ("Prostephanus truncatus",),
    ),
    "cashew": (
        ("Raw cashew nuts in shell for processing",),
        "Anacardium occidentale",
        "Cashew",
        "080131",
        80,
        ("jute bags",),
        (200, 400),
        "mb",
        ("Tribolium castaneum",),
    ),
    "maize": (
        ("Yellow maize grain for animal feed",),
        "Zea mays",
        "Maize",
        "100590",
        50,
        ("PP bags",),
        (400, 1000),
        "phosphine",
        ("Sitophilus zeamais",),
    ),
    "mangosteen": (
        ("Fresh mangosteen fruit for consumption",),
        "Garcinia mangostana",
        "Mangosteen",
        "080450",
        5,
        ("plastic baskets",),
        (1000, 2000),
        "vht",
        ("Bactrocera papayae",),
    ),
    "rambutan": (
        ("Fresh rambutan fruit for consumption",),
        "Nephelium lappaceum",
        "Rambutan",
        "081090",
        5,
        ("cartons",),
        (1000, 2000),
        "irradiation",
        ("Conogethes punctiferalis",),
    ),
    "orchids": (
        ("Fresh cut orchid flowers",),
        "Dendrobium spp.",
        "Dendrobium orchid",
        "060313",
        6,
        ("cartons",),
        (100, 600),
        "dip",
        ("Thrips palmi",),
    ),
    "coconut": (
        ("Fresh young coconuts, trimmed",),
        "Cocos nucifera",
        "Coconut",
        "080119",
        9,
        ("cartons",),
        (1200, 2000),
        None,
        ("Brontispa longissima",),
    ),
    "pomelo": (
        ("Fresh pomelo fruit for consumption",),
        "Citrus maxima",
        "Pomelo (bưởi da xanh)",
        "080540",
        15,
        ("cartons",),
        (800, 1600),
        "cold",
        ("Bactrocera dorsalis",),
    ),
    "rubberwood": (
        ("Sawn rubberwood timber, kiln dried",),
        "Hevea brasiliensis",
        "Rubberwood",
        "440799",
        700,
        ("bundles",),
        (20, 60),
        "heat",
        ("Sinoxylon anale",),
    ),
    "sweet_potato": (
        ("Fresh sweet potatoes for consumption",),
        "Ipomoea batatas",
        "Sweet potato",
        "071420",
        10,
        ("cartons",),
        (1500, 2500),
        None,
        ("Cylas formicarius",),
    ),
}
PLANT_BASKETS = {
    "VN": (
        "dragon_fruit",
        "mango",
        "durian",
        "longan",
        "rice",
        "coffee",
        "pepper",
        "cassava",
        "cashew",
        "pomelo",
        "coconut",
        "rubberwood",
        "sweet_potato",
        "rambutan",
    ),
    "TH": ("durian", "mango", "longan", "mangosteen", "rice", "cassava", "orchids", "coconut", "rambutan"),
    "MY": ("durian", "rubberwood", "orchids", "coconut"),
    "ID": ("coffee", "pepper", "mangosteen", "maize", "coconut"),
    "PH": ("banana", "mango", "coconut"),
    "KH": ("rice", "cassava", "mango", "cashew"),
    "LA": ("coffee", "cassava", "banana"),
    "MM": ("rice", "maize", "mango"),
    "SG": ("orchids",),
    "BN": ("coconut",),
}
# plant -> the GOODS keys whose exporters trade it (to pick a fitting consignor)
PLANT_GOODS: dict[str, tuple[str, ...]] = {
    "dragon_fruit": ("dragon_fruit",),
    "mango": ("mango",),
    "durian": ("durian",),
    "longan": ("durian", "dragon_fruit"),
    "banana": ("banana",),
    "rice": ("rice", "rice_st25", "rice_hommali"),
    "coffee": ("coffee",),
    "pepper": ("pepper",),
    "cassava": ("tapioca", "cassava_chips"),
    "cashew": ("cashew", "cashew_raw"),
    "maize": ("maize", "mung_beans"),
    "mangosteen": ("durian", "mango"),
    "rambutan": ("durian", "dragon_fruit"),
    "orchids": ("orchids",),
    "coconut": ("desiccated_coconut", "coconut_oil", "dragon_fruit", "durian"),
    "pomelo": ("dragon_fruit",),
    "rubberwood": ("tables", "armchairs", "wardrobes", "wood_pellets", "plywood"),
    "sweet_potato": ("dragon_fruit", "mango"),
}
FRESH_FRUIT = frozenset(("dragon_fruit", "mango", "durian", "longan", "banana", "mangosteen", "rambutan", "pomelo"))
PHYTO_DESTINATIONS = ("CN", "JP", "KR", "AU", "NZ", "US", "NL", "DE", "AE", "TW", "TH", "MY", "SG", "ID", "PH", "VN")
REGIONS = {
    "VN": (
        "Tỉnh Bình Thuận",
        "Tỉnh Tiền Giang",
        "Tỉnh Đắk Lắk",
        "Tỉnh An Giang",
        "Tỉnh Đồng Tháp",
        "Tỉnh Bến Tre",
        "Tỉnh Hưng Yên",
    ),
    "TH": ("Chanthaburi", "Rayong", "Chiang Mai", "Nakhon Ratchasima", "Chumphon"),
    "MY": ("Pahang", "Johor", "Perak", "Sabah"),
    "ID": ("Sumatera Utara", "Lampung", "Jawa Timur", "Aceh"),
    "PH": ("Davao del Norte", "Cotabato", "Quezon"),
    "KH": ("Battambang", "Kampong Cham", "Takeo"),
    "LA": ("Champasak", "Savannakhet"),
    "MM": ("Ayeyarwady Region", "Sagaing Region"),
    "SG": ("Lim Chu Kang",),
    "BN": ("Tutong",),
}


_PLANT_TRADERS: dict[tuple[str, str], tuple] = {
    (country, plant): tuple(e for e in EXPORTERS.get(country, ()) if set(e[4]) & set(PLANT_GOODS[plant]))
    for country, plants in PLANT_BASKETS.items()
    for plant in plants
}


def _treatment(r, profile: str | None, when: str) -> dict[str, Any] | None:
    if profile is None:
        return None
    if profile == "mb":
        return {
            "type": "FUMIGATION",
            "chemical": "Methyl bromide",
            "concentration": {"value": 48, "unit": "g/m3"},
            "duration": {"value": 24, "unit": "HUR"},
            "temperature": {"value": 21 + int(r() * 10), "unit": "CEL"},
            "date": when,
        }
    if profile == "phosphine":
        return {
            "type": "FUMIGATION",
            "chemical": "Phosphine (aluminium phosphide)",
            "concentration": {"value": 2, "unit": "g/m3"},
            "duration": {"value": 5, "unit": "DAY"},
            "temperature": {"value": 25 + int(r() * 8), "unit": "CEL"},
            "date": when,
        }
    if profile == "vht":
        return {
            "type": "VAPOUR_HEAT",
            "duration": {"value": 20, "unit": "MIN"},
            "temperature": {"value": 46.5, "unit": "CEL"},
            "date": when,
            "additionalInformation": "Fruit pulp core temperature held at 46.5 °C or above for 20 minutes",
        }
    if profile == "hot_water":
        return {
            "type": "HOT_WATER",
            "duration": {"value": 60, "unit": "MIN"},
            "temperature": {"value": 48, "unit": "CEL"},
            "date": when,
        }
    if profile == "irradiation":
        return {
            "type": "IRRADIATION",
            "concentration": {"value": 400, "unit": "Gy"},
            "date": when,
            "additionalInformation": "Minimum absorbed dose 400 Gy",
        }
    if profile == "cold":
        return {
            "type": "COLD",
            "duration": {"value": 14, "unit": "DAY"},
            "temperature": {"value": 1.1, "unit": "CEL"},
            "date": when,
        }
    if profile == "heat":
        return {
            "type": "HEAT",
            "duration": {"value": 30, "unit": "MIN"},
            "temperature": {"value": 56, "unit": "CEL"},
            "date": when,
            "additionalInformation": "Kiln drying, core temperature 56 °C for 30 minutes (HT)",
        }
    if profile == "dip":
        return {
            "type": "CHEMICAL_DIP",
            "chemical": "Imidacloprid",
            "concentration": {"value": 0.05, "unit": "%"},
            "duration": {"value": 1, "unit": "MIN"},
            "date": when,
        }
    if profile == "so2":
        return {
            "type": "FUMIGATION",
            "chemical": "Sulphur dioxide",
            "concentration": {"value": 1, "unit": "%"},
            "duration": {"value": 30, "unit": "MIN"},
            "date": when,
        }
    return None


def _ephyto(
    r,
    *,
    issuing: str,
    importing: str | None,
    reference: str | None,
    counters: _Counters | None,
    issuers: list,
    network: dict,
) -> dict[str, Any]:
    basket = PLANT_BASKETS.get(issuing) or PLANT_BASKETS["VN"]
    if importing is None:
        importing = issuing
        while importing == issuing:
            importing = PHYTO_DESTINATIONS[int(r() * len(PHYTO_DESTINATIONS))]
    day = _FIRST + int(r() * ISSUE_DAYS)
    issue_date = _DATES[day]
    nppo_name, nppo_abbr, nppo_city = NPPOS.get(issuing, NPPOS["VN"])
    if reference is None:
        prefix = f"{issuing}/{nppo_abbr}/{issue_date[:4]}/"
        serial = counters.take(prefix) if counters is not None else 1 + int(r() * 999999)
        reference = f"{prefix}{serial:06d}"
    first = basket[int(r() * len(basket))]
    consignors = _PLANT_TRADERS.get((issuing, first)) or EXPORTERS.get(issuing) or EXPORTERS["VN"]
    consignor = consignors[int(r() * len(consignors))]
    importers = _BUYERS.get((importing, "food")) or IMPORTERS["SG"]
    consignee = importers[int(r() * len(importers))]
    mode, vessel, _loading, discharge = _transport_leg(r, issuing, importing, issue_date[2:4])
    regions = REGIONS.get(issuing) or (None,)
    keys = [first]
    if r() < 0.2:
        others = [k for k in basket if k != first and set(PLANT_GOODS[k]) & set(consignor[4])]
        if others:
            keys.append(others[int(r() * len(others))])
    goods = []
    treatments: list[dict[str, Any]] = []
    pests: list[str] = []
    for key in keys:
        descs, sci, common, hs, kg, kinds, (pmin, pmax), profile, pest_list = PLANTS[key]
        n = pmin + int(r() * (pmax - pmin + 1))
        region = regions[int(r() * len(regions))]
        origin: dict[str, Any] = {"country": issuing}
        if region is not None:
            origin["region"] = region
        item: dict[str, Any] = {
            "description": descs[int(r() * len(descs))],
            "scientificName": sci,
            "commonName": common,
            "quantity": {"value": _num(n * kg), "unit": "KGM"},
            "packages": {"count": n, "kind": kinds[int(r() * len(kinds))]},
            "placeOfOrigin": origin,
        }
        if r() < 0.7:
            item["hsCode"] = hs
        if r() < 0.5:
            item["marks"] = f"{consignee[0][:40]}\nPACKING HOUSE CODE {issuing}-{int(r() * 900) + 100}"
        goods.append(item)
        treatment = _treatment(r, profile, _DATES[day - 1 - int(r() * 3)])
        if treatment is not None and len(treatments) < 2:
            treatments.append(treatment)
        pests.extend(p for p in pest_list if p not in pests)
    declarations = [f"The consignment was inspected and found free from {', '.join(pests)}."]
    if first in FRESH_FRUIT and r() < 0.6:
        declarations.append(
            "The fruits were produced in registered orchards and packed in registered packing "
            "houses under the supervision of the NPPO of the exporting country."
        )
    signers = SIGNATORIES.get(issuing) or SIGNATORIES["VN"]
    doc: dict[str, Any] = {
        "documentType": "EPHYTO",
        "referenceNumber": reference,
        "issuingCountry": issuing,
        "importingCountry": importing,
        "issueDate": issue_date,
        "network": {"chain": network["chain"], "chainId": network["chainId"], "name": network["name"]},
        "issuers": issuers,
        "certificateType": "EXPORT",
        "consignor": _party(consignor, issuing),
        "consignee": _party(consignee, importing),
        "exportingCountry": issuing,
        "meansOfConveyance": {"mode": mode, "identifier": vessel},
        "pointOfEntry": discharge["name"],
        "goods": goods,
        "additionalDeclarations": declarations,
        "nppo": {
            "name": nppo_name,
            "officer": signers[int(r() * len(signers))],
            "officerTitle": "Authorised Officer",
            "place": nppo_city,
            "date": issue_date,
        },
    }
    if treatments:
        doc["treatments"] = treatments
    return doc


def ephyto(rng: random.Random | int | None = None, **overrides: Any) -> dict[str, Any]:
    """One realistic ePhyto (``documentType: EPHYTO``); overrides as for :func:`form_d`."""
    r = _rng(rng).random
    issuing = (
        overrides.get("issuingCountry")
        or ("VN", "VN", "VN", "TH", "TH", "MY", "ID", "PH", "KH", "LA", "MM")[int(r() * 11)]
    )
    network = overrides.pop("network", None) or DEFAULT_NETWORK
    issuers = overrides.pop("issuers", None) or _copy_issuer(default_issuer_block(issuing, "EPHYTO"))
    doc = _ephyto(
        r,
        issuing=issuing,
        importing=overrides.get("importingCountry"),
        reference=overrides.get("referenceNumber"),
        counters=None,
        issuers=issuers,
        network=network,
    )
    doc.update(overrides)
    return doc


# --------------------------------------------------------------------------------------------------
# generic e-certificates

ECERT_BODIES = {
    "HALAL": {
        "MY": "Jabatan Kemajuan Islam Malaysia (JAKIM)",
        "ID": "Badan Penyelenggara Jaminan Produk Halal (BPJPH)",
        "TH": "The Central Islamic Council of Thailand (CICOT)",
        "BN": "Majlis Ugama Islam Brunei (MUIB)",
        "SG": "Majlis Ugama Islam Singapura (MUIS)",
        "VN": "Trung tâm Chứng nhận Halal Quốc gia Việt Nam (HALCERT)",
        "PH": "Islamic Da'wah Council of the Philippines",
    },
    "HEALTH": {
        "VN": "Cục Quản lý Chất lượng Nông Lâm sản và Thủy sản (NAFIQAD)",
        "TH": "Department of Fisheries, Fish Inspection and Quality Control Division",
        "MY": "Department of Fisheries Malaysia",
        "ID": "Badan Mutu KKP (Fish Quarantine and Inspection Agency)",
        "PH": "Bureau of Fisheries and Aquatic Resources (BFAR)",
    },
    "FREE_SALE": {
        "VN": "Cục An toàn thực phẩm – Bộ Y tế (Viet Nam Food Administration)",
        "TH": "Food and Drug Administration Thailand",
        "MY": "Ministry of Health Malaysia",
        "ID": "Badan Pengawas Obat dan Makanan (BPOM)",
        "PH": "Food and Drug Administration Philippines",
        "SG": "Singapore Food Agency",
    },
    "FUMIGATION": {
        "VN": "Công ty Cổ phần Khử trùng Việt Nam (VFC)",
        "TH": "Siam Fumigation Services Co., Ltd.",
        "MY": "Malaysia Fumigation Services Sdn. Bhd.",
        "ID": "PT Sucofindo (Persero)",
    },
    "ANALYSIS": {
        "VN": "Trung tâm Kỹ thuật Tiêu chuẩn Đo lường Chất lượng 3 (QUATEST 3)",
        "TH": "Central Laboratory (Thailand) Co., Ltd.",
        "MY": "SIRIM QAS International Sdn. Bhd.",
        "SG": "TÜV SÜD PSB Pte. Ltd.",
        "ID": "PT Sucofindo Laboratory",
    },
}
ECERT_TITLES = {
    "HALAL": "Halal Certificate",
    "HEALTH": "Health Certificate for Fishery Products",
    "FREE_SALE": "Certificate of Free Sale",
    "FUMIGATION": "Fumigation Certificate",
    "ANALYSIS": "Certificate of Analysis",
}
ECERT_PRODUCTS = {
    "HALAL": (
        ("Instant noodles, chicken flavour", "190230"),
        ("Frozen chicken nuggets", "160232"),
        ("Palm-based cooking oil", "151190"),
        ("Chocolate wafer biscuits", "190532"),
    ),
    "HEALTH": (
        ("Frozen pangasius fillets", "030462"),
        ("Frozen vannamei shrimp", "030617"),
        ("Canned tuna in oil", "160414"),
        ("Frozen squid rings", "030743"),
    ),
    "FREE_SALE": (
        ("Vitamin C effervescent tablets", "210690"),
        ("Herbal toothpaste", "330610"),
        ("Coconut water, canned", "200989"),
        ("Baby rice cereal", "190110"),
    ),
    "FUMIGATION": (
        ("Wooden pallets (packing material)", "441520"),
        ("Milled rice in PP bags", "100630"),
        ("Green coffee beans", "090111"),
    ),
    "ANALYSIS": (
        ("Robusta green coffee beans", "090111"),
        ("Crude palm oil", "151110"),
        ("Natural rubber SVR 10", "400122"),
        ("Portland cement PCB40", "252329"),
    ),
}


def _ecert_content(r, kind: str, product: str, hs: str, issuing: str, day: int) -> dict[str, Any]:
    batch = f"LOT-{_DATES[day][2:4]}{int(r() * 9000) + 1000}"
    if kind == "HALAL":
        return {
            "products": [{"name": product, "hsCode": hs, "brand": "Golden Lotus"}],
            "standard": "MS 1500:2019" if issuing == "MY" else "HAS 23000",
            "certificateScope": "Processing and packaging",
            "manufacturingSite": {"approvalNumber": f"{issuing}-H-{int(r() * 90000) + 10000}"},
        }
    if kind == "HEALTH":
        return {
            "product": product,
            "hsCode": hs,
            "batchNumber": batch,
            "netWeightKg": _num(5000 + r() * 20000),
            "establishmentCode": f"DL {int(r() * 900) + 100}",
            "storageTemperatureCelsius": -18,
            "attestation": "The products were handled, prepared, processed and stored in accordance with the "
            "hygiene requirements and are fit for human consumption.",
        }
    if kind == "FREE_SALE":
        return {
            "products": [
                {
                    "name": product,
                    "registrationNumber": f"{int(r() * 90000) + 10000}/{_DATES[day][:4]}/ĐKSP"
                    if issuing == "VN"
                    else f"R-{int(r() * 900000)}",
                }
            ],
            "statement": "The products above are freely sold in the domestic market of the exporting country.",
        }
    if kind == "FUMIGATION":
        return {
            "commodity": product,
            "fumigant": "Methyl bromide",
            "dosageGramsPerCubicMetre": 48,
            "exposureHours": 24,
            "minimumTemperatureCelsius": 21 + int(r() * 8),
            "containers": [
                f"{('TGHU', 'MSKU', 'WHLU', 'SITU')[int(r() * 4)]}{int(r() * 9000000) + 1000000}"
                for _ in range(1 + int(r() * 3))
            ],
            "ispm15": kind == "FUMIGATION" and hs == "441520",
        }
    return {
        "sample": product,
        "hsCode": hs,
        "batchNumber": batch,
        "results": [
            {
                "parameter": "Moisture",
                "method": "ISO 6673",
                "value": _num(8 + r() * 4),
                "unit": "%",
                "limit": "max 12.5",
            },
            {
                "parameter": "Foreign matter",
                "method": "ISO 4149",
                "value": _num(r() * 1),
                "unit": "%",
                "limit": "max 1",
            },
        ],
        "conclusion": "Conforms to the contract specification",
    }


def _ecert(
    r,
    *,
    issuing: str,
    importing: str | None,
    reference: str | None,
    counters: _Counters | None,
    issuers: list,
    network: dict,
) -> dict[str, Any]:
    kinds = [k for k, bodies in ECERT_BODIES.items() if issuing in bodies] or ["ANALYSIS"]
    kind = kinds[int(r() * len(kinds))]
    body = ECERT_BODIES[kind].get(issuing) or f"Certification body of {COUNTRY_NAMES.get(issuing, issuing)}"
    if importing is None:
        importing = issuing
        while importing == issuing:
            importing = PHYTO_DESTINATIONS[int(r() * len(PHYTO_DESTINATIONS))]
    day = _FIRST + int(r() * ISSUE_DAYS)
    issue_date = _DATES[day]
    if reference is None:
        prefix = f"{issuing}-{kind}-{issue_date[:4]}-"
        serial = counters.take(prefix) if counters is not None else 1 + int(r() * 999999)
        reference = f"{prefix}{serial:06d}"
    products = ECERT_PRODUCTS[kind]
    product, hs = products[int(r() * len(products))]
    exporters = EXPORTERS.get(issuing) or EXPORTERS["VN"]
    subject = exporters[int(r() * len(exporters))]
    signers = SIGNATORIES.get(issuing) or SIGNATORIES["VN"]
    doc: dict[str, Any] = {
        "documentType": "ECERT",
        "referenceNumber": reference,
        "issuingCountry": issuing,
        "importingCountry": importing,
        "issueDate": issue_date,
        "network": {"chain": network["chain"], "chainId": network["chainId"], "name": network["name"]},
        "issuers": issuers,
        "title": ECERT_TITLES[kind],
        "certificateType": kind,
        "subject": {"name": subject[0], "address": subject[1], "country": issuing, "identifier": subject[3]},
        "issuingBody": {
            "name": body,
            "country": issuing,
            "signatory": signers[int(r() * len(signers))],
            "signatoryTitle": "Authorised Signatory",
        },
        "content": _ecert_content(r, kind, product, hs, issuing, day),
        "validFrom": issue_date,
    }
    if kind in ("HALAL", "FREE_SALE"):
        doc["validUntil"] = _DATES[min(day + 365 * (1 + int(r() * 2)), len(_DATES) - 1)]
    return doc


def ecert(rng: random.Random | int | None = None, **overrides: Any) -> dict[str, Any]:
    """One realistic generic e-certificate (``documentType: ECERT``); overrides as for :func:`form_d`."""
    r = _rng(rng).random
    issuing = overrides.get("issuingCountry") or ("VN", "VN", "TH", "MY", "MY", "ID", "PH", "SG")[int(r() * 8)]
    network = overrides.pop("network", None) or DEFAULT_NETWORK
    issuers = overrides.pop("issuers", None) or _copy_issuer(default_issuer_block(issuing, "ECERT"))
    doc = _ecert(
        r,
        issuing=issuing,
        importing=overrides.get("importingCountry"),
        reference=overrides.get("referenceNumber"),
        counters=None,
        issuers=issuers,
        network=network,
    )
    doc.update(overrides)
    return doc


# --------------------------------------------------------------------------------------------------
# streams

_BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {"FORM_D": _form_d, "EPHYTO": _ephyto, "ECERT": _ecert}


def generate(
    n: int,
    doc_type: str = "FORM_D",
    seed: int = 0,
    issuer_block: dict[str, Any] | None = None,
    network: dict[str, Any] | None = None,
    issuing_country: str = "VN",
) -> Iterator[dict[str, Any]]:
    """Yield ``n`` documents of ``doc_type`` issued by ``issuing_country``'s authority, one at a time.

    Deterministic for a given ``seed``; reference numbers never repeat within a stream. ``issuer_block``
    is ``issuers[0]`` ({name, documentStore, identityProof: {type, location}}), by default the country's
    authority with placeholder contract addresses; ``network`` is {chain, chainId, name}. Every document is a
    fresh object (nothing is shared between two yielded documents).
    """
    if doc_type not in _BUILDERS:
        raise ValueError(f"unknown document type {doc_type!r}; expected one of {', '.join(_BUILDERS)}")
    if n < 0:
        raise ValueError("n must not be negative")
    block = issuer_block if issuer_block is not None else default_issuer_block(issuing_country, doc_type)
    net = network if network is not None else DEFAULT_NETWORK
    net = {"chain": net["chain"], "chainId": net["chainId"], "name": net["name"]}
    r = random.Random(seed).random
    counters = _Counters()
    build = _BUILDERS[doc_type]
    extra = {"importing": None, "reference": None, "counters": counters, "network": net}
    if doc_type == "FORM_D":
        extra.update(agreement=None, lines=None)
    for _ in range(n):
        yield build(r, issuing=issuing_country, issuers=_copy_issuer(block), **extra)
