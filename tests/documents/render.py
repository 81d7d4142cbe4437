"""Render random, valid identity documents and photograph them imperfectly (test data generator).

``render_document(rng)`` draws a TD3 passport data page or a TD1 card: a visual zone (labels,
values, a portrait placeholder or a given face) and an MRZ in OCR-B (Debian ``fonts-ocr-b``), then
puts it on a background with rotation up to 5 degrees, blur, uneven light, noise and JPEG
compression. The truth (MRZ lines and fields) comes back with the image.
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from openkyc.documents.checkdigits import check_digit

OCRB_CANDIDATES = (Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf"),)
SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
ALNUM_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
STATES = ("UTO", "GBR", "FRA", "NLD", "USA", "CAN", "AUS", "JPN", "SGP", "MYS", "IDN", "HKG", "DEU", "ITA", "ESP")
SYLLABLES = ("AN", "NA", "MA", "RI", "KO", "SEN", "LI", "TOR", "VAN", "DER", "BE", "EL", "GAR", "SON", "MI", "LE", "OK")


@cache
def ocrb_font_path() -> Path:
    """OCR-B from ``fonts-ocr-b`` (found with ``dpkg -L`` when not at the usual path)."""
    for path in OCRB_CANDIDATES:
        if path.is_file():
            return path
    listing = subprocess.run(["dpkg", "-L", "fonts-ocr-b"], capture_output=True, text=True, check=False).stdout
    for line in listing.splitlines():
        if line.endswith("OCRB.otf"):
            return Path(line)
    raise FileNotFoundError("OCR-B font not found: apt-get install fonts-ocr-b")


@dataclass
class RenderedDocument:
    image: np.ndarray  # BGR, as decoded from the JPEG
    jpeg: bytes
    mrz_format: str
    lines: list[str]
    fields: dict[str, str] = field(default_factory=dict)


def _name(rng: np.random.Generator, parts: int) -> str:
    return "<".join("".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 4)))) for _ in range(parts))


def _alnum(rng: np.random.Generator, n: int) -> str:
    """Letters and digits without O, I and Q: like many issuers, avoid letters that read as digits."""
    return "".join(rng.choice(list(ALNUM_LETTERS + DIGITS * 2), size=n))


def _yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


def random_identity(rng: np.random.Generator, today: date) -> dict[str, str]:
    birth = today - timedelta(days=int(rng.integers(18 * 365, 80 * 365)))
    expiry = today + timedelta(days=int(rng.integers(-400, 10 * 365)))
    return {
        "issuing_state": str(rng.choice(STATES)),
        "nationality": str(rng.choice(STATES)),
        "surname": _name(rng, int(rng.integers(1, 3))),
        "given_names": _name(rng, int(rng.integers(1, 3))),
        "document_number": _alnum(rng, 9),
        "birth_date": _yymmdd(birth),
        "expiry_date": _yymmdd(expiry),
        "sex": str(rng.choice(["M", "F", "<"], p=[0.48, 0.48, 0.04])),
        "optional_data": _alnum(rng, int(rng.integers(0, 10))),
    }


def _pad(text: str, n: int) -> str:
    return (text + "<" * n)[:n]


def td3_lines(p: dict[str, str]) -> list[str]:
    name = _pad(f"{p['surname']}<<{p['given_names']}", 39)
    number, opt = p["document_number"], _pad(p["optional_data"], 14)
    body = f"{number}{check_digit(number)}{p['nationality']}{p['birth_date']}{check_digit(p['birth_date'])}"
    body += f"{p['sex']}{p['expiry_date']}{check_digit(p['expiry_date'])}{opt}{check_digit(opt)}"
    composite = check_digit(body[0:10] + body[13:20] + body[21:43])
    return [f"P<{p['issuing_state']}{name}", body + composite]


def td1_lines(p: dict[str, str]) -> list[str]:
    number, opt = p["document_number"], _pad(p["optional_data"], 15)
    line1 = f"I<{p['issuing_state']}{number}{check_digit(number)}{opt}"
    line2 = f"{p['birth_date']}{check_digit(p['birth_date'])}{p['sex']}{p['expiry_date']}"
    line2 += f"{check_digit(p['expiry_date'])}{p['nationality']}{'<' * 11}"
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    return [line1, line2, _pad(f"{p['surname']}<<{p['given_names']}", 30)]


def _draw_document(
    lines: list[str], p: dict[str, str], td1: bool, face: np.ndarray | None, rng: np.random.Generator
) -> Image.Image:
    width, height = (856, 540) if td1 else (1250, 880)
    tint = tuple(int(v) for v in rng.integers(215, 250, size=3))
    doc = Image.new("RGB", (width, height), tint)
    draw = ImageDraw.Draw(doc)
    for y in range(0, height, 6):  # faint guilloche-like background lines
        draw.line([(0, y), (width, y + int(rng.integers(-20, 20)))], fill=tuple(max(0, c - 12) for c in tint), width=1)
    sans = ImageFont.truetype(str(SANS), 22 if td1 else 28)
    small = ImageFont.truetype(str(SANS), 14 if td1 else 18)
    title = "IDENTITY CARD" if td1 else "PASSPORT"
    draw.text((int(width * 0.3), 20), f"{title} / {p['issuing_state']}", fill=(40, 40, 90), font=sans)
    px, py, pw, ph = int(width * 0.04), int(height * 0.14), int(width * 0.24), int(height * 0.45)
    if face is not None:
        portrait = Image.fromarray(cv2.cvtColor(face, cv2.COLOR_BGR2RGB)).resize((pw, ph))
        doc.paste(portrait, (px, py))
    else:
        draw.rectangle([px, py, px + pw, py + ph], fill=(200, 200, 205))
        draw.ellipse([px + pw * 0.2, py + ph * 0.12, px + pw * 0.8, py + ph * 0.62], fill=(170, 150, 140))
        draw.chord([px + pw * 0.05, py + ph * 0.6, px + pw * 0.95, py + ph * 1.4], 180, 360, fill=(90, 90, 120))
    x, y = px + pw + 30, py
    labels = [("Surname", p["surname"].replace("<", " ")), ("Given names", p["given_names"].replace("<", " "))]
    labels += [
        ("Nationality", p["nationality"]),
        ("Date of birth", p["birth_date"]),
        ("Sex", p["sex"].replace("<", "X")),
    ]
    labels += [("Document no", p["document_number"]), ("Date of expiry", p["expiry_date"])]
    step = (ph + 40) // len(labels)
    for label, value in labels:
        draw.text((x, y), label, fill=(90, 90, 110), font=small)
        draw.text((x, y + small.size + 2), value, fill=(10, 10, 10), font=sans)
        y += step
    margin, size, pitch, top = _mrz_layout(width, height, lines)
    font = ImageFont.truetype(str(ocrb_font_path()), int(size))
    for i, line in enumerate(lines):
        draw.text((margin, top + i * pitch), line, fill=(15, 15, 20), font=font)
    return doc


def _mrz_layout(width: int, height: int, lines: list[str]) -> tuple[int, float, int, int]:
    """The MRZ's margin, font size, line pitch and top edge on a document of this size."""
    ocrb = ImageFont.truetype(str(ocrb_font_path()), 10)
    margin = int(width * 0.045)
    size = 10 * (width - 2 * margin) / ocrb.getlength("<" * len(lines[0]))
    pitch = int(size * 1.25)
    return margin, size, pitch, height - margin // 2 - pitch * len(lines)


def _photograph(doc: Image.Image, rng: np.random.Generator) -> tuple[np.ndarray, bytes]:
    angle = float(rng.uniform(-5, 5))
    rotated = doc.convert("RGBA").rotate(angle, resample=Image.BICUBIC, expand=True)
    out_w = int(rotated.width * rng.uniform(1.08, 1.3))
    out_h = int(rotated.height * rng.uniform(1.08, 1.3))
    base = np.zeros((out_h, out_w, 3), np.float32)
    base[:] = rng.integers(40, 200, size=3)
    base += rng.normal(0, 12, size=(out_h // 8 + 1, out_w // 8 + 1, 1)).repeat(8, 0).repeat(8, 1)[:out_h, :out_w]
    bg = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    bg.paste(
        rotated,
        (int(rng.integers(0, out_w - rotated.width + 1)), int(rng.integers(0, out_h - rotated.height + 1))),
        rotated,
    )
    arr = np.asarray(bg.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.0, 1.3))))).astype(np.float32)
    gx = np.linspace(0, 1, out_w)[None, :, None]
    gy = np.linspace(0, 1, out_h)[:, None, None]
    a, b = rng.uniform(-0.3, 0.3, size=2)
    light = 1.0 + a * (gx - 0.5) + b * (gy - 0.5) - float(rng.uniform(0, 0.15))
    arr = arr * light + rng.normal(0, float(rng.uniform(1, 5)), size=arr.shape)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    scale = float(rng.uniform(0.8, 1.25))
    img = img.resize((int(out_w * scale), int(out_h * scale)), Image.BILINEAR)
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=int(rng.integers(45, 90)))
    jpeg = buffer.getvalue()
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return np.asarray(decoded, dtype=np.uint8), jpeg


def render_document(
    rng: np.random.Generator, *, today: date, kind: str | None = None, face: np.ndarray | None = None
) -> RenderedDocument:
    """A random valid TD3 passport or TD1 card, photographed imperfectly, with its truth."""
    kind = kind or str(rng.choice(["TD3", "TD1"]))
    person = random_identity(rng, today)
    lines = td1_lines(person) if kind == "TD1" else td3_lines(person)
    doc = _draw_document(lines, person, kind == "TD1", face, rng)
    image, jpeg = _photograph(doc, rng)
    return RenderedDocument(image, jpeg, kind, lines, person)


@dataclass
class TwoSidedCard:
    front: RenderedDocument  # portrait and visual zone, no MRZ
    back: RenderedDocument  # the MRZ alone


def render_two_sided_td1(rng: np.random.Generator, *, today: date, face: np.ndarray | None = None) -> TwoSidedCard:
    """A TD1 card as issued: the portrait and visual zone on the front, the MRZ on the back (each
    side photographed on its own)."""
    person = random_identity(rng, today)
    lines = td1_lines(person)
    doc = _draw_document(lines, person, True, face, rng)
    width, height = doc.size
    cut = _mrz_layout(width, height, lines)[3] - 6  # below the visual zone, above the MRZ
    tint = doc.getpixel((2, 2))
    front = doc.copy()
    ImageDraw.Draw(front).rectangle([0, cut, width, height], fill=tint)
    back = Image.new("RGB", (width, height), tint)
    back.paste(doc.crop((0, cut, width, height)), (0, cut))
    sides = [RenderedDocument(*_photograph(side, rng), "TD1", lines, person) for side in (front, back)]
    return TwoSidedCard(sides[0], sides[1])
