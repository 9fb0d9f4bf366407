"""Seed data for the Place table: Iran, its 31 provinces and a set of cities.

Pure data, no database access. Every city and province that appears in the demo
archive (Amnesty International, "A web of impunity", 2020 -- see
shared/data/protest-archive-2019.csv) is listed under the archive's own spelling
(Esfahan, Urumieh, Khoramshahr, Javanroud, ...); other common Latin spellings are
kept as aliases so that imports from other sources resolve to the same place.

Rules the tests enforce:
- ``name_fa`` is written in Persian script only (letters, spaces, ZWNJ).
- Within one level (provinces, cities) no name or alias is used twice,
  case-insensitively. A city may share its name with a province.
- ``lat``/``lon`` are approximate city-centre coordinates; every city has them (the
  map draws one mark per city).
"""

from typing import TypedDict


class CountrySeed(TypedDict):
    code: str
    name_en: str
    name_fa: str


class ProvinceSeed(TypedDict):
    name_en: str
    name_fa: str
    aliases: list[str]


class CitySeed(TypedDict):
    name_en: str
    name_fa: str
    province: str
    aliases: list[str]
    lat: float | None
    lon: float | None


COUNTRY: CountrySeed = {"code": "IRN", "name_en": "Iran", "name_fa": "ایران"}

PROVINCES: list[ProvinceSeed] = [
    {"name_en": "Alborz", "name_fa": "البرز", "aliases": []},
    {"name_en": "Ardabil", "name_fa": "اردبیل", "aliases": ["Ardebil"]},
    {"name_en": "Bushehr", "name_fa": "بوشهر", "aliases": ["Bushire", "Boushehr"]},
    {
        "name_en": "Chaharmahal and Bakhtiari",
        "name_fa": "چهارمحال و بختیاری",
        "aliases": ["Chaharmahal va Bakhtiari", "Chahar Mahal and Bakhtiari"],
    },
    {
        "name_en": "East Azerbaijan",
        "name_fa": "آذربایجان شرقی",
        "aliases": ["East Azarbaijan", "Azarbayjan-e Sharqi", "Azerbaijan-e Sharghi"],
    },
    {"name_en": "Esfahan", "name_fa": "اصفهان", "aliases": ["Isfahan", "Ispahan"]},
    {"name_en": "Fars", "name_fa": "فارس", "aliases": ["Pars"]},
    {"name_en": "Gilan", "name_fa": "گیلان", "aliases": ["Guilan"]},
    {"name_en": "Golestan", "name_fa": "گلستان", "aliases": []},
    {"name_en": "Hamadan", "name_fa": "همدان", "aliases": ["Hamedan"]},
    {"name_en": "Hormozgan", "name_fa": "هرمزگان", "aliases": []},
    {"name_en": "Ilam", "name_fa": "ایلام", "aliases": []},
    {"name_en": "Kerman", "name_fa": "کرمان", "aliases": []},
    {"name_en": "Kermanshah", "name_fa": "کرمانشاه", "aliases": ["Kermanshahan", "Bakhtaran"]},
    {
        "name_en": "Khorasan Razavi",
        "name_fa": "خراسان رضوی",
        "aliases": ["Razavi Khorasan", "Khorasan-e Razavi"],
    },
    {"name_en": "Khuzestan", "name_fa": "خوزستان", "aliases": ["Khouzestan", "Khuzistan"]},
    {
        "name_en": "Kohgiluyeh and Boyer-Ahmad",
        "name_fa": "کهگیلویه و بویراحمد",
        "aliases": ["Kohgiluyeh va Boyer-Ahmad", "Kohgiluyeh and Boyer Ahmad"],
    },
    {"name_en": "Kurdistan", "name_fa": "کردستان", "aliases": ["Kordestan", "Kurdestan"]},
    {"name_en": "Lorestan", "name_fa": "لرستان", "aliases": ["Luristan"]},
    {"name_en": "Markazi", "name_fa": "مرکزی", "aliases": ["Central"]},
    {"name_en": "Mazandaran", "name_fa": "مازندران", "aliases": []},
    {
        "name_en": "North Khorasan",
        "name_fa": "خراسان شمالی",
        "aliases": ["Khorasan Shomali", "Khorasan-e Shomali"],
    },
    {"name_en": "Qazvin", "name_fa": "قزوین", "aliases": ["Ghazvin"]},
    {"name_en": "Qom", "name_fa": "قم", "aliases": ["Ghom"]},
    {"name_en": "Semnan", "name_fa": "سمنان", "aliases": []},
    {
        "name_en": "Sistan and Baluchestan",
        "name_fa": "سیستان و بلوچستان",
        "aliases": ["Sistan va Baluchestan", "Sistan and Baluchistan", "Sistan-Baluchestan"],
    },
    {
        "name_en": "South Khorasan",
        "name_fa": "خراسان جنوبی",
        "aliases": ["Khorasan Jonubi", "Khorasan-e Jonubi"],
    },
    {"name_en": "Tehran", "name_fa": "تهران", "aliases": ["Teheran"]},
    {
        "name_en": "West Azerbaijan",
        "name_fa": "آذربایجان غربی",
        "aliases": ["West Azarbaijan", "Azarbayjan-e Gharbi", "Azerbaijan-e Gharbi"],
    },
    {"name_en": "Yazd", "name_fa": "یزد", "aliases": []},
    {"name_en": "Zanjan", "name_fa": "زنجان", "aliases": []},
]

CITIES: list[CitySeed] = [
    # --- Cities in the demo archive (archive spellings) ---------------------------
    {
        "name_en": "Abadan",
        "name_fa": "آبادان",
        "province": "Khuzestan",
        "aliases": [],
        "lat": 30.3473,
        "lon": 48.2934,
    },
    {
        # Small town in Eslamshahr County; position not known precisely enough.
        "name_en": "Aderan",
        "name_fa": "آدران",
        "province": "Tehran",
        "aliases": [],
        "lat": 35.4441,
        "lon": 51.1367,
    },
    {
        "name_en": "Ahvaz",
        "name_fa": "اهواز",
        "province": "Khuzestan",
        "aliases": ["Ahwaz"],
        "lat": 31.3183,
        "lon": 48.6706,
    },
    {
        "name_en": "Andisheh",
        "name_fa": "اندیشه",
        "province": "Tehran",
        "aliases": ["Andishe"],
        "lat": 35.6850,
        "lon": 51.0250,
    },
    {
        "name_en": "Arak",
        "name_fa": "اراک",
        "province": "Markazi",
        "aliases": [],
        "lat": 34.0917,
        "lon": 49.6892,
    },
    {
        "name_en": "Behbahan",
        "name_fa": "بهبهان",
        "province": "Khuzestan",
        "aliases": ["Behbehan"],
        "lat": 30.5959,
        "lon": 50.2417,
    },
    {
        "name_en": "Bushehr",
        "name_fa": "بوشهر",
        "province": "Bushehr",
        "aliases": ["Bushire", "Bandar-e Bushehr", "Boushehr"],
        "lat": 28.9234,
        "lon": 50.8203,
    },
    {
        "name_en": "Esfahan",
        "name_fa": "اصفهان",
        "province": "Esfahan",
        "aliases": ["Isfahan", "Ispahan"],
        "lat": 32.6546,
        "lon": 51.6680,
    },
    {
        "name_en": "Eslamshahr",
        "name_fa": "اسلامشهر",
        "province": "Tehran",
        "aliases": ["Islamshahr"],
        "lat": 35.5522,
        "lon": 51.2350,
    },
    {
        "name_en": "Fardis",
        "name_fa": "فردیس",
        "province": "Alborz",
        "aliases": [],
        "lat": 35.7290,
        "lon": 50.9860,
    },
    {
        "name_en": "Gorgan",
        "name_fa": "گرگان",
        "province": "Golestan",
        "aliases": ["Astarabad"],
        "lat": 36.8456,
        "lon": 54.4393,
    },
    {
        "name_en": "Javanroud",
        "name_fa": "جوانرود",
        "province": "Kermanshah",
        "aliases": ["Javanrud", "Javanrood"],
        "lat": 34.8067,
        "lon": 46.4886,
    },
    {
        "name_en": "Karaj",
        "name_fa": "کرج",
        "province": "Alborz",
        "aliases": [],
        "lat": 35.8400,
        "lon": 50.9391,
    },
    {
        "name_en": "Kermanshah",
        "name_fa": "کرمانشاه",
        "province": "Kermanshah",
        "aliases": ["Kermanshahan", "Bakhtaran"],
        "lat": 34.3142,
        "lon": 47.0650,
    },
    {
        "name_en": "Khoramshahr",
        "name_fa": "خرمشهر",
        "province": "Khuzestan",
        "aliases": ["Khorramshahr", "Mohammerah"],
        "lat": 30.4397,
        "lon": 48.1664,
    },
    {
        "name_en": "Mahshahr",
        "name_fa": "ماهشهر",
        "province": "Khuzestan",
        "aliases": ["Bandar-e Mahshahr", "Bandar Mahshahr"],
        "lat": 30.5589,
        "lon": 49.1981,
    },
    {
        "name_en": "Mariwan",
        "name_fa": "مریوان",
        "province": "Kurdistan",
        "aliases": ["Marivan"],
        "lat": 35.5183,
        "lon": 46.1825,
    },
    {
        "name_en": "Mashhad",
        "name_fa": "مشهد",
        "province": "Khorasan Razavi",
        "aliases": ["Mashad", "Meshed"],
        "lat": 36.2605,
        "lon": 59.6168,
    },
    {
        # Small town in Fardis County; position not known precisely enough.
        "name_en": "Meshkin Dasht",
        "name_fa": "مشکین\u200cدشت",
        "province": "Alborz",
        "aliases": ["Meshkindasht", "Meshkin-Dasht"],
        "lat": 35.7497,
        "lon": 50.9386,
    },
    {
        "name_en": "Najaf Abad",
        "name_fa": "نجف\u200cآباد",
        "province": "Esfahan",
        "aliases": ["Najafabad", "Najaf-Abad"],
        "lat": 32.6342,
        "lon": 51.3667,
    },
    {
        "name_en": "Neyshabur",
        "name_fa": "نیشابور",
        "province": "Khorasan Razavi",
        "aliases": ["Nishapur", "Neishabour", "Nishabur"],
        "lat": 36.2133,
        "lon": 58.7958,
    },
    {
        # New town north-west of Shiraz; position not known precisely enough.
        "name_en": "Sadra",
        "name_fa": "صدرا",
        "province": "Fars",
        "aliases": [],
        "lat": 29.7956,
        "lon": 52.4936,
    },
    {
        "name_en": "Sanandaj",
        "name_fa": "سنندج",
        "province": "Kurdistan",
        "aliases": ["Senneh"],
        "lat": 35.3144,
        "lon": 46.9923,
    },
    {
        "name_en": "Shahriar",
        "name_fa": "شهریار",
        "province": "Tehran",
        "aliases": ["Shahriyar"],
        "lat": 35.6597,
        "lon": 51.0592,
    },
    {
        "name_en": "Shiraz",
        "name_fa": "شیراز",
        "province": "Fars",
        "aliases": [],
        "lat": 29.5918,
        "lon": 52.5837,
    },
    # --- Other provincial capitals ------------------------------------------------
    {
        "name_en": "Ardabil",
        "name_fa": "اردبیل",
        "province": "Ardabil",
        "aliases": ["Ardebil"],
        "lat": 38.2498,
        "lon": 48.2933,
    },
    {
        "name_en": "Bandar Abbas",
        "name_fa": "بندرعباس",
        "province": "Hormozgan",
        "aliases": ["Bandar-e Abbas", "Bandarabbas"],
        "lat": 27.1832,
        "lon": 56.2666,
    },
    {
        "name_en": "Birjand",
        "name_fa": "بیرجند",
        "province": "South Khorasan",
        "aliases": [],
        "lat": 32.8663,
        "lon": 59.2211,
    },
    {
        "name_en": "Bojnurd",
        "name_fa": "بجنورد",
        "province": "North Khorasan",
        "aliases": ["Bojnourd"],
        "lat": 37.4747,
        "lon": 57.3290,
    },
    {
        "name_en": "Hamadan",
        "name_fa": "همدان",
        "province": "Hamadan",
        "aliases": ["Hamedan"],
        "lat": 34.7992,
        "lon": 48.5146,
    },
    {
        "name_en": "Ilam",
        "name_fa": "ایلام",
        "province": "Ilam",
        "aliases": [],
        "lat": 33.6374,
        "lon": 46.4227,
    },
    {
        "name_en": "Kerman",
        "name_fa": "کرمان",
        "province": "Kerman",
        "aliases": [],
        "lat": 30.2839,
        "lon": 57.0834,
    },
    {
        "name_en": "Khorramabad",
        "name_fa": "خرم\u200cآباد",
        "province": "Lorestan",
        "aliases": ["Khoramabad", "Khorram Abad"],
        "lat": 33.4878,
        "lon": 48.3558,
    },
    {
        "name_en": "Qazvin",
        "name_fa": "قزوین",
        "province": "Qazvin",
        "aliases": ["Ghazvin", "Kazvin"],
        "lat": 36.2688,
        "lon": 50.0041,
    },
    {
        "name_en": "Qom",
        "name_fa": "قم",
        "province": "Qom",
        "aliases": ["Ghom"],
        "lat": 34.6416,
        "lon": 50.8746,
    },
    {
        "name_en": "Rasht",
        "name_fa": "رشت",
        "province": "Gilan",
        "aliases": [],
        "lat": 37.2808,
        "lon": 49.5832,
    },
    {
        "name_en": "Sari",
        "name_fa": "ساری",
        "province": "Mazandaran",
        "aliases": [],
        "lat": 36.5659,
        "lon": 53.0586,
    },
    {
        "name_en": "Semnan",
        "name_fa": "سمنان",
        "province": "Semnan",
        "aliases": [],
        "lat": 35.5729,
        "lon": 53.3971,
    },
    {
        "name_en": "Shahrekord",
        "name_fa": "شهرکرد",
        "province": "Chaharmahal and Bakhtiari",
        "aliases": ["Shahr-e Kord", "Shahrkord"],
        "lat": 32.3256,
        "lon": 50.8644,
    },
    {
        "name_en": "Tabriz",
        "name_fa": "تبریز",
        "province": "East Azerbaijan",
        "aliases": [],
        "lat": 38.0800,
        "lon": 46.2919,
    },
    {
        "name_en": "Tehran",
        "name_fa": "تهران",
        "province": "Tehran",
        "aliases": ["Teheran"],
        "lat": 35.6892,
        "lon": 51.3890,
    },
    {
        "name_en": "Urumieh",
        "name_fa": "ارومیه",
        "province": "West Azerbaijan",
        "aliases": ["Urmia", "Orumiyeh", "Urmieh", "Oroumieh", "Orumieh"],
        "lat": 37.5527,
        "lon": 45.0761,
    },
    {
        "name_en": "Yasuj",
        "name_fa": "یاسوج",
        "province": "Kohgiluyeh and Boyer-Ahmad",
        "aliases": ["Yasouj"],
        "lat": 30.6682,
        "lon": 51.5880,
    },
    {
        "name_en": "Yazd",
        "name_fa": "یزد",
        "province": "Yazd",
        "aliases": [],
        "lat": 31.8974,
        "lon": 54.3569,
    },
    {
        "name_en": "Zahedan",
        "name_fa": "زاهدان",
        "province": "Sistan and Baluchestan",
        "aliases": [],
        "lat": 29.4963,
        "lon": 60.8629,
    },
    {
        "name_en": "Zanjan",
        "name_fa": "زنجان",
        "province": "Zanjan",
        "aliases": [],
        "lat": 36.6736,
        "lon": 48.4787,
    },
]
