"""Held-out ID cards without an MRZ (HK ID, MyKad, NRIC/FIN, NIK), for evaluation only.

Written apart from the tuning renderer (``tests/documents/render_cards.py``) on purpose: its own
number generators (from each card's published rule, not from the reader's validators), other
layouts (bilingual labels, the number beside its label or alone, the name without a label as on
real HK ID and MyKad cards), other fonts and colours, and the same photographs as the held-out
MRZ documents (``heldout_documents.photograph``: a scene behind the card, perspective, glare, low
light, a 720p frame). ``make_card(seed, condition, strength)`` is a pure function of its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from heldout_documents import CONDITIONS, NAME_PARTS, STRENGTHS, VIZ_FONTS, photograph
from PIL import Image, ImageDraw, ImageFont

CARD_TYPES = ("HK_ID", "MY_MYKAD", "SG_NRIC", "ID_NIK")


@dataclass
class HeldoutCard:
    image: np.ndarray
    jpeg: bytes
    document_type: str
    number: str
    fields: dict[str, str] = field(default_factory=dict)


def hk_number(rng: np.random.Generator) -> str:
    """Hong Kong: 1 or 2 letters, 6 digits, check character (0-9 or A) so that the weighted sum is 0 mod 11."""
    letters = "".join(str(rng.choice(list("ABCDEFGHJKMNPRVWXYZ"))) for _ in range(int(rng.integers(1, 3))))
    digits = "".join(str(int(d)) for d in rng.integers(0, 10, size=6))
    values = ([36] if len(letters) == 1 else []) + [ord(c) - 55 for c in letters] + [int(d) for d in digits]
    total = sum(v * w for v, w in zip(values, (9, 8, 7, 6, 5, 4, 3, 2), strict=True))
    check = (11 - total % 11) % 11
    return f"{letters}{digits}({'A' if check == 10 else check})"


def sg_number(rng: np.random.Generator) -> str:
    """Singapore NRIC/FIN: S/T (citizens), F/G (foreigners), 7 digits, check letter from weights 2765432."""
    prefix = str(rng.choice(list("STFG"), p=[0.45, 0.35, 0.1, 0.1]))
    digits = [int(d) for d in rng.integers(0, 10, size=7)]
    total = sum(d * w for d, w in zip(digits, (2, 7, 6, 5, 4, 3, 2), strict=True)) + (4 if prefix in "TG" else 0)
    letters = "JZIHGFEDCBA" if prefix in "ST" else "XWUTRQPNMLK"
    return prefix + "".join(map(str, digits)) + letters[total % 11]


def my_number(rng: np.random.Generator, born: date, sex: str) -> str:
    """MyKad: YYMMDD-PB-###G, PB a state code (01-16) or a country code (60-93), G odd for men."""
    place = int(rng.choice([*range(1, 17), *range(60, 69), 71, 72, 74, 82, 83, 93]))
    last = int(rng.integers(0, 5)) * 2 + (1 if sex == "M" else 0)
    return f"{born:%y%m%d}-{place:02d}-{int(rng.integers(0, 1000)):03d}{last}"


def id_number(rng: np.random.Generator, born: date, sex: str) -> str:
    """NIK: province, regency, district (6 digits), DDMMYY (day + 40 for women), 4-digit serial."""
    province = str(
        rng.choice(["11", "12", "13", "16", "31", "32", "33", "34", "35", "36", "51", "52", "61", "73", "94"])
    )
    day = born.day + (40 if sex == "F" else 0)
    return f"{province}{int(rng.integers(1, 80)):02d}{int(rng.integers(1, 40)):02d}{day:02d}{born:%m%y}{int(rng.integers(1, 5000)):04d}"


def _name(rng: np.random.Generator) -> str:
    return " ".join(
        "".join(rng.choice(NAME_PARTS, size=int(rng.integers(2, 4)))) for _ in range(int(rng.integers(2, 4)))
    )


def draw_card(kind: str, number: str, name: str, born: date, sex: str, rng: np.random.Generator) -> Image.Image:
    """The card upright (ID-1 at 856 x 540), with its header, labels, number and a portrait placeholder."""
    width, height = 856, 540
    base = np.zeros((height, width, 3), np.float32)
    c0, c1 = rng.integers(190, 245, size=3), rng.integers(190, 245, size=3)
    base[:] = c0 * (1 - np.linspace(0, 1, height)[:, None, None]) + c1 * np.linspace(0, 1, height)[:, None, None]
    card = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(card)
    path = str(VIZ_FONTS[int(rng.integers(len(VIZ_FONTS)))])
    head, mid, small = (ImageFont.truetype(path, size) for size in (30, 26, 17))
    numfont = ImageFont.truetype(str(VIZ_FONTS[2]), int(rng.integers(30, 38)))
    ink, label = (10, 12, 20), (70, 70, 90)
    portrait_right = kind == "MY_MYKAD" or rng.random() < 0.3
    px = width - 250 if portrait_right else 30
    draw.rectangle([px, 130, px + 210, 400], fill=(175, 182, 190))
    draw.ellipse([px + 45, 160, px + 165, 300], fill=(150, 130, 120))
    tx = 30 if portrait_right else 270
    birth = born.strftime(str(rng.choice(["%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"])))
    if kind == "HK_ID":
        draw.text((30, 20), "HONG KONG PERMANENT IDENTITY CARD", fill=(110, 20, 40), font=head)
        draw.text((tx, 140), name, fill=ink, font=mid)
        draw.text((tx, 200), "Date of Birth", fill=label, font=small)
        draw.text((tx, 222), birth, fill=ink, font=mid)
        draw.text((tx, 270), f"Sex  {sex}", fill=ink, font=mid)
        draw.text((tx + 250, 420), number, fill=ink, font=numfont)
    elif kind == "SG_NRIC":
        draw.text((30, 20), "REPUBLIC OF SINGAPORE", fill=(150, 20, 20), font=head)
        draw.text((tx, 75), "IDENTITY CARD No.", fill=label, font=small)
        draw.text((tx + 200, 68), number, fill=ink, font=numfont)
        draw.text((tx, 150), "Name", fill=label, font=small)
        draw.text((tx, 172), name, fill=ink, font=mid)
        draw.text((tx, 230), "Date of birth", fill=label, font=small)
        draw.text((tx, 252), birth, fill=ink, font=mid)
        draw.text((tx, 310), f"Sex  {sex}", fill=ink, font=mid)
    elif kind == "MY_MYKAD":
        draw.text((30, 20), "KAD PENGENALAN MALAYSIA", fill=(20, 40, 130), font=head)
        draw.text((30, 62), "IDENTITY CARD  MyKad", fill=label, font=small)
        draw.text((tx, 110), number, fill=ink, font=numfont)
        draw.text((tx, 190), name, fill=ink, font=mid)
        draw.text((tx, 250), "NO 12 JALAN MAWAR", fill=ink, font=small)
        draw.text((tx, 300), "WARGANEGARA", fill=ink, font=small)
        draw.text((tx, 330), "LELAKI" if sex == "M" else "PEREMPUAN", fill=ink, font=small)
    else:
        draw.text((30, 20), "PROVINSI JAWA BARAT", fill=(20, 20, 20), font=head)
        draw.text((30, 60), "KABUPATEN BANDUNG", fill=(20, 20, 20), font=mid)
        draw.text((tx, 110), f"NIK : {number}", fill=ink, font=numfont)
        draw.text((tx, 170), f"Nama : {name}", fill=ink, font=mid)
        draw.text((tx, 220), f"Tempat/Tgl Lahir : BANDUNG, {birth}", fill=ink, font=small)
        draw.text((tx, 260), "Jenis Kelamin : " + ("LAKI-LAKI" if sex == "M" else "PEREMPUAN"), fill=ink, font=small)
        draw.text((tx, 300), "Kewarganegaraan : WNI", fill=ink, font=small)
    return card


def make_card(seed: int, condition: str, strength: str, *, today: date) -> HeldoutCard:
    """One held-out card: seed, condition and strength decide everything."""
    rng = np.random.default_rng([seed, 11, CONDITIONS.index(condition), STRENGTHS.index(strength)])
    kind = CARD_TYPES[int(rng.integers(len(CARD_TYPES)))]
    born = today - timedelta(days=int(rng.integers(18 * 365, 75 * 365)))
    sex = str(rng.choice(["M", "F"]))
    number = {
        "HK_ID": lambda: hk_number(rng),
        "SG_NRIC": lambda: sg_number(rng),
        "MY_MYKAD": lambda: my_number(rng, born, sex),
        "ID_NIK": lambda: id_number(rng, born, sex),
    }[kind]()
    name = _name(rng)
    image, jpeg = photograph(draw_card(kind, number, name, born, sex, rng), condition, strength, rng)
    return HeldoutCard(image, jpeg, kind, number, {"birth_date": born.isoformat(), "sex": sex, "name": name})
