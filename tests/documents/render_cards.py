"""Render national ID cards without an MRZ (HK ID, MyKad, NRIC/FIN, NIK) with valid numbers, and photograph them.

Each card carries its country's header, labels and number in the layout the card uses (number at
the top right on the NRIC, bottom left on the HK ID, top left on MyKad, under the province on the
NIK), in DejaVu Sans, photographed with a small rotation, blur and JPEG compression.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SANS = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
NRIC_LETTERS = {"ST": "JZIHGFEDCBA", "FG": "XWUTRQPNMLK"}


@dataclass
class RenderedCard:
    image: np.ndarray
    document_type: str
    number: str
    fields: dict[str, str] = field(default_factory=dict)


def hkid(rng: np.random.Generator) -> str:
    prefix = "".join(rng.choice(list("ABCDEGHKMPRVYZ"), size=int(rng.integers(1, 3))))
    body = "".join(str(d) for d in rng.integers(0, 10, size=6))
    chars = prefix.rjust(2, " ") + body
    total = sum(
        (36 if c == " " else (ord(c) - 55 if c.isalpha() else int(c))) * w
        for c, w in zip(chars, range(9, 1, -1), strict=True)
    )
    check = (11 - total % 11) % 11
    return f"{prefix}{body}({'A' if check == 10 else check})"


def nric(rng: np.random.Generator) -> str:
    prefix = str(rng.choice(list("STFG")))
    digits = [int(d) for d in rng.integers(0, 10, size=7)]
    total = sum(d * w for d, w in zip(digits, (2, 7, 6, 5, 4, 3, 2), strict=True)) + (4 if prefix in "TG" else 0)
    table = NRIC_LETTERS["ST" if prefix in "ST" else "FG"]
    return prefix + "".join(map(str, digits)) + table[total % 11]


def mykad(rng: np.random.Generator, born: date, sex: str) -> str:
    place = f"{int(rng.integers(1, 15)):02d}"
    serial = int(rng.integers(0, 500)) * 2 + (1 if sex == "M" else 0)
    return f"{born:%y%m%d}-{place}-{serial:04d}"


def nik(rng: np.random.Generator, born: date, sex: str) -> str:
    province = str(rng.choice(["31", "32", "33", "35", "51", "73"]))
    region = province + f"{int(rng.integers(1, 30)):02d}{int(rng.integers(1, 30)):02d}"
    day = born.day + (40 if sex == "F" else 0)
    return f"{region}{day:02d}{born:%m%y}{int(rng.integers(1, 9999)):04d}"


def _name(rng: np.random.Generator) -> str:
    parts = ("TAN", "LIM", "WONG", "SITI", "AHMAD", "NUR", "BUDI", "CHAN", "LEE", "KUMAR", "DEWI", "HO", "ONG", "ALI")
    return " ".join(rng.choice(parts, size=int(rng.integers(2, 4))))


def _corrupt(number: str) -> str:
    """The same number with its check character (or, without one, its month) wrong."""
    if number.endswith(")"):
        digit = number[-2]
        return number[:-2] + ("0" if digit == "A" else str((int(digit) + 1) % 10)) + ")"
    if number[0] in "STFG" and number[-1].isalpha():
        return number[:-1] + ("A" if number[-1] != "A" else "B")
    if "-" in number:
        return number[:2] + "13" + number[4:]
    return number[:8] + "13" + number[10:]


def render_card(rng: np.random.Generator, kind: str, *, today: date, corrupt: bool = False) -> RenderedCard:
    born = today - timedelta(days=int(rng.integers(18 * 365, 70 * 365)))
    sex = str(rng.choice(["M", "F"]))
    name = _name(rng)
    width, height = 1012, 638
    card = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(200, 240, size=3)))
    draw = ImageDraw.Draw(card)
    big, mid, small = ImageFont.truetype(BOLD, 40), ImageFont.truetype(SANS, 32), ImageFont.truetype(SANS, 22)
    draw.rectangle([40, 150, 300, 480], fill=(185, 190, 198))
    draw.ellipse([95, 190, 245, 360], fill=(160, 140, 130))
    birth = born.strftime("%d-%m-%Y")
    if kind == "HK_ID":
        number = hkid(rng)
        number = _corrupt(number) if corrupt else number
        draw.text((40, 30), "HONG KONG IDENTITY CARD", fill=(120, 30, 40), font=big)
        draw.text((340, 170), f"Name: {name}", fill=(10, 10, 10), font=mid)
        draw.text((340, 250), f"Date of Birth: {birth}", fill=(10, 10, 10), font=mid)
        draw.text((340, 320), f"Sex: {sex}", fill=(10, 10, 10), font=mid)
        draw.text((560, 520), number, fill=(10, 10, 10), font=big)
    elif kind == "SG_NRIC":
        number = nric(rng)
        number = _corrupt(number) if corrupt else number
        draw.text((40, 30), "REPUBLIC OF SINGAPORE", fill=(160, 20, 20), font=big)
        draw.text((600, 100), number, fill=(10, 10, 10), font=big)
        draw.text((340, 190), f"Name: {name}", fill=(10, 10, 10), font=mid)
        draw.text((340, 270), f"Date of birth: {birth}", fill=(10, 10, 10), font=mid)
        draw.text((340, 350), f"Sex: {sex}", fill=(10, 10, 10), font=mid)
    elif kind == "MY_MYKAD":
        number = mykad(rng, born, sex)
        number = _corrupt(number) if corrupt else number
        draw.text((40, 30), "MALAYSIA  MyKad", fill=(20, 40, 140), font=big)
        draw.text((340, 120), number, fill=(10, 10, 10), font=big)
        draw.text((340, 230), f"Nama: {name}", fill=(10, 10, 10), font=mid)
        draw.text((340, 300), "WARGANEGARA", fill=(10, 10, 10), font=small)
    else:
        number = nik(rng, born, sex)
        number = _corrupt(number) if corrupt else number
        draw.text((40, 30), "PROVINSI DKI JAKARTA", fill=(20, 20, 20), font=big)
        draw.text((340, 120), f"NIK : {number}", fill=(10, 10, 10), font=big)
        draw.text((340, 210), f"Nama : {name}", fill=(10, 10, 10), font=mid)
        draw.text((340, 280), f"Tgl Lahir : {birth}", fill=(10, 10, 10), font=mid)
        draw.text((340, 350), "INDONESIA", fill=(10, 10, 10), font=small)
    angle = float(rng.uniform(-3, 3))
    rotated = card.rotate(angle, resample=Image.BICUBIC, expand=True, fillcolor=(90, 95, 100))
    blurred = rotated.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.2, 0.9))))
    buffer = io.BytesIO()
    blurred.save(buffer, format="JPEG", quality=int(rng.integers(60, 90)))
    image = cv2.imdecode(np.frombuffer(buffer.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    return RenderedCard(np.asarray(image, dtype=np.uint8), kind, number, {"birth_date": born.isoformat(), "sex": sex})
