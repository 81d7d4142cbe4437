"""A second document generator, for evaluation only: never used to tune the reader.

It differs from the tuning renderer in ``tests/documents/render.py`` on purpose: other page layouts
(TD3, TD2 and TD1 with bilingual labels, printed dates such as ``12 AUG 1974`` or ``12.08.1974``),
document numbers and optional data drawn from the full alphabet (``O``, ``I``, ``Q``, ``G`` and
``Z`` included), guilloche waves, other VIZ fonts, and photographs taken the way phones take them:
the page put into a scene (a table or a page of text), seen in perspective, under uneven light,
with a glare patch, in low light, or small in a 1280x720 frame. Only the MRZ font is the same
(OCR-B from Debian's ``fonts-ocr-b``).

``make_document(seed, condition, strength)`` is a pure function of its arguments. The evaluation
uses seeds from :data:`HELDOUT_SEEDS` only.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from openkyc.documents.checkdigits import check_digit

HELDOUT_SEEDS = range(900_000, 1_000_000)
"""Seeds of the held-out set: nothing in the reader was tuned on documents made from them."""

OCRB = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
VIZ_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
)
STATES = (
    "UTO", "D", "GBR", "FRA", "NLD", "USA", "CAN", "AUS", "JPN", "SGP", "MYS", "IDN", "HKG", "ITA", "ESP",
    "POL", "SWE", "NOR", "BRA", "MEX", "IND", "KOR", "PHL", "THA", "VNM", "ZAF", "NGA", "EGY", "TUR", "GRC",
)  # fmt: skip
NAME_PARTS = (
    "OKO", "MAR", "TIN", "EZ", "SU", "ZU", "KI", "QU", "IN", "GO", "BAL", "DIZ", "ROS", "OLA", "VI", "ECK",
    "HAU", "SEN", "WO", "JO", "YAN", "PEL", "GRI", "FF", "ITH", "NO", "DA", "BRU", "CE", "LOZ", "QI", "AGU",
)  # fmt: skip
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
CONDITIONS = ("mild", "perspective", "glare", "lowlight", "res720")
STRENGTHS = ("mild", "strong")


@dataclass
class HeldoutDocument:
    image: np.ndarray  # BGR as decoded from the JPEG
    jpeg: bytes
    mrz_format: str
    lines: list[str]
    fields: dict[str, str] = field(default_factory=dict)


def _name(rng: np.random.Generator) -> str:
    return "".join(rng.choice(NAME_PARTS, size=int(rng.integers(2, 4))))


def _alnum(rng: np.random.Generator, n: int, letters: float = 0.35) -> str:
    out = []
    for _ in range(n):
        pool = ALNUM[:26] if rng.random() < letters else ALNUM[26:]
        out.append(str(rng.choice(list(pool))))
    return "".join(out)


def identity(rng: np.random.Generator, today: date) -> dict[str, str]:
    birth = today - timedelta(days=int(rng.integers(16 * 365, 90 * 365)))
    expiry = today + timedelta(days=int(rng.integers(-700, 10 * 365)))
    style = int(rng.integers(3))
    if style == 0:
        number = _alnum(rng, 2, 1.0) + _alnum(rng, 7, 0.0)
    elif style == 1:
        number = _alnum(rng, 9)
    else:
        number = _alnum(rng, int(rng.integers(7, 10)), 0.0)
    given = "<".join(_name(rng) for _ in range(int(rng.integers(1, 3))))
    return {
        "issuing_state": str(rng.choice(STATES)),
        "nationality": str(rng.choice(STATES)),
        "surname": _name(rng) + ("<" + _name(rng) if rng.random() < 0.2 else ""),
        "given_names": given,
        "document_number": number,
        "birth_date": birth.strftime("%y%m%d"),
        "expiry_date": expiry.strftime("%y%m%d"),
        "birth": birth.isoformat(),
        "expiry": expiry.isoformat(),
        "sex": str(rng.choice(["M", "F", "<"], p=[0.47, 0.47, 0.06])),
        "optional_data": _alnum(rng, int(rng.integers(0, 12)), 0.5) if rng.random() < 0.7 else "",
    }


def _pad(text: str, n: int) -> str:
    return (text + "<" * n)[:n]


def _state(code: str) -> str:
    return _pad(code, 3)


def mrz_lines(kind: str, p: dict[str, str]) -> list[str]:
    number = p["document_number"]
    if kind == "TD1":
        num9 = _pad(number, 9)
        line1 = f"I<{_state(p['issuing_state'])}{num9}{check_digit(num9)}{_pad(p['optional_data'], 15)}"
        line2 = f"{p['birth_date']}{check_digit(p['birth_date'])}{p['sex']}{p['expiry_date']}"
        line2 += f"{check_digit(p['expiry_date'])}{_state(p['nationality'])}{'<' * 11}"
        line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
        return [line1, line2, _pad(f"{p['surname']}<<{p['given_names']}", 30)]
    length = 44 if kind in ("TD3", "MRVA") else 36
    code = {"TD3": "P<", "MRVA": "V<", "MRVB": "V<"}.get(kind, "I<")
    num9 = _pad(number, 9)
    head = f"{num9}{check_digit(num9)}{_state(p['nationality'])}{p['birth_date']}{check_digit(p['birth_date'])}"
    head += f"{p['sex']}{p['expiry_date']}{check_digit(p['expiry_date'])}"
    if kind in ("MRVA", "MRVB"):  # visas: optional data to the end of the line, no composite check digit
        body = head + _pad(p["optional_data"], length - 28)
    elif kind == "TD3":
        opt = _pad(p["optional_data"], 14)
        body = head + opt + check_digit(opt)
        body += check_digit(body[0:10] + body[13:20] + body[21:43])
    else:
        body = head + _pad(p["optional_data"], 7)
        body += check_digit(body[0:10] + body[13:20] + body[21:35])
    name = _pad(f"{p['surname']}<<{p['given_names']}", length - 5)
    return [f"{code}{_state(p['issuing_state'])}{name}", body]


def _viz_date(iso: str, style: int) -> str:
    day = date.fromisoformat(iso)
    months = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    if style == 0:
        return f"{day.day:02d} {months[day.month - 1]} {day.year}"
    if style == 1:
        return day.strftime("%d.%m.%Y")
    return day.strftime("%d/%m/%Y")


def draw_page(kind: str, lines: list[str], p: dict[str, str], rng: np.random.Generator) -> Image.Image:
    """The document page, upright, with its visual zone and MRZ (a visa is drawn like the page of its size)."""
    visa = kind in ("MRVA", "MRVB")
    kind = {"MRVA": "TD3", "MRVB": "TD2"}.get(kind, kind)
    size = {"TD3": (1250, 880), "TD2": (1050, 740), "TD1": (856, 540)}[kind]
    width, height = size
    base = np.zeros((height, width, 3), np.float32)
    c0, c1 = rng.integers(205, 250, size=3), rng.integers(205, 250, size=3)
    ramp = np.linspace(0, 1, width)[None, :, None]
    base[:] = c0 * (1 - ramp) + c1 * ramp
    doc = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(doc)
    wave = tuple(int(v) for v in rng.integers(150, 215, size=3))
    for k in range(0, height, 14):  # guilloche waves
        phase, amp = float(rng.uniform(0, 6.28)), float(rng.uniform(4, 12))
        pts = [(x, k + amp * math.sin(x / 37.0 + phase)) for x in range(0, width, 8)]
        draw.line(pts, fill=wave, width=1)
    font_path = VIZ_FONTS[int(rng.integers(len(VIZ_FONTS)))]
    big = ImageFont.truetype(str(font_path), {"TD3": 30, "TD2": 27, "TD1": 23}[kind])
    small = ImageFont.truetype(str(font_path), {"TD3": 17, "TD2": 16, "TD1": 13}[kind])
    title = {"TD3": "PASSPORT / PASSEPORT", "TD2": "IDENTITY CARD / CARTE D'IDENTITE", "TD1": "IDENTITY CARD"}[kind]
    title = "VISA / VISA" if visa else title
    draw.text((int(width * 0.33), 14), title, fill=(30, 40, 100), font=big)
    portrait_left = rng.random() < 0.75
    pw, ph = int(width * 0.25), int(height * 0.46)
    px = int(width * 0.04) if portrait_left else width - pw - int(width * 0.04)
    py = int(height * 0.13)
    draw.rectangle([px, py, px + pw, py + ph], fill=(190, 195, 200))
    draw.ellipse([px + pw * 0.22, py + ph * 0.1, px + pw * 0.78, py + ph * 0.6], fill=(160, 140, 130))
    draw.chord([px + pw * 0.05, py + ph * 0.62, px + pw * 0.95, py + ph * 1.4], 180, 360, fill=(70, 80, 110))
    style = int(rng.integers(3))
    sex = {"<": "X"}.get(p["sex"], p["sex"])
    fields = [
        ("Type / Type", lines[0][0]),
        ("Code / Code", p["issuing_state"]),
        ("Document No. / No du document", p["document_number"]),
        ("Surname / Nom", p["surname"].replace("<", " ")),
        ("Given names / Prenoms", p["given_names"].replace("<", " ")),
        ("Nationality / Nationalite", p["nationality"]),
        ("Date of birth / Date de naissance", _viz_date(p["birth"], style)),
        ("Sex / Sexe", sex),
        ("Date of expiry / Date d'expiration", _viz_date(p["expiry"], style)),
    ]
    x0 = px + pw + 28 if portrait_left else int(width * 0.05)
    col_w = (width - pw - int(width * 0.12)) // 2
    rows = (len(fields) + 1) // 2 if kind == "TD1" else len(fields)
    mrz_top = height - int(height * (0.28 if kind == "TD1" else 0.2))
    step = max(small.size + big.size + 4, (mrz_top - py - 10) // max(rows, 1))
    for k, (label, value) in enumerate(fields):
        col, row = (k // rows, k % rows) if kind == "TD1" else (0, k)
        x, y = x0 + col * col_w, py + row * step
        if kind != "TD1" and k in (0, 1):  # type and code side by side at the top
            x, y = x0 + k * int(col_w * 0.6), py
        elif kind != "TD1":
            y = py + (k - 1) * step
        draw.text((x, y), label, fill=(80, 80, 110), font=small)
        draw.text((x, y + small.size + 2), value, fill=(15, 15, 25), font=big)
    ocrb10 = ImageFont.truetype(str(OCRB), 10)
    margin = int(width * float(rng.uniform(0.035, 0.055)))
    font_size = 10 * (width - 2 * margin) / ocrb10.getlength("<" * len(lines[0]))
    font = ImageFont.truetype(str(OCRB), int(font_size))
    pitch = int(font_size * float(rng.uniform(1.2, 1.4)))
    top = height - int(margin * 0.6) - pitch * len(lines)
    ink = tuple(int(v) for v in rng.integers(5, 40, size=3))
    for k, line in enumerate(lines):
        draw.text((margin, top + k * pitch), line, fill=ink, font=font)
    return doc


def _scene(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A table (smooth noise) or a page of unrelated text behind the document."""
    if rng.random() < 0.5:
        base = np.zeros((height, width, 3), np.float32)
        base[:] = rng.integers(50, 200, size=3)
        noise = rng.normal(0, 14, size=(height // 16 + 1, width // 16 + 1, 1))
        base += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)[..., None]
        return np.clip(base, 0, 255).astype(np.uint8)
    page = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(200, 245, size=3)))
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(str(VIZ_FONTS[0]), int(rng.integers(14, 26)))
    words = ("INVOICE", "TOTAL", "ACCOUNT", "<<<", "REF", "2024", "ORDER", "No.", "PAYMENT", "DUE", "AMOUNT", "BANK")
    y = 5
    while y < height:
        text = " ".join(str(rng.choice(words)) + str(int(rng.integers(0, 99999))) for _ in range(12))
        draw.text((5, y), text, fill=(40, 40, 40), font=font)
        y += font.size + int(rng.integers(4, 12))
    return np.asarray(page)[:, :, ::-1].copy()


def photograph(page: Image.Image, condition: str, strength: str, rng: np.random.Generator) -> tuple[np.ndarray, bytes]:
    """``page`` photographed under ``condition`` at ``strength``; the decoded JPEG and its bytes."""
    strong = strength == "strong"
    doc = np.asarray(page)[:, :, ::-1].astype(np.uint8)
    dh, dw = doc.shape[:2]
    if condition == "res720":
        sw, sh = 1280, 720
        frac = float(rng.uniform(0.5, 0.6) if strong else rng.uniform(0.68, 0.8))
        frac = min(frac, 0.92 * sh / dh * dw / sw)
    else:
        sw = int(dw / float(rng.uniform(0.7, 0.85)))
        sh = int(sw * float(rng.uniform(0.7, 0.8)))
        sh = max(sh, int(dh / dw * sw / 0.8))
        frac = dw / sw
    target_w = frac * sw
    target_h = target_w * dh / dw
    cx = sw / 2 + float(rng.uniform(-0.5, 0.5)) * (sw - target_w) * 0.8
    cy = sh / 2 + float(rng.uniform(-0.5, 0.5)) * (sh - target_h) * 0.8
    angle = math.radians(float(rng.uniform(-3, 3)))
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * [target_w / 2, target_h / 2]
    if condition == "perspective":
        tilt = float(rng.uniform(0.1, 0.16) if strong else rng.uniform(0.04, 0.08))
        side = int(rng.integers(4))
        a, b = [(0, 1), (1, 2), (2, 3), (3, 0)][side]
        centre = corners.mean(axis=0)
        for k in (a, b):  # that side is further away: shorter
            corners[k] = centre + (corners[k] - centre) * (1 - tilt)
        corners += rng.normal(0, tilt * 0.15, size=(4, 2)) * [target_w, target_h]
        angle = math.radians(float(rng.uniform(-12, 12) if strong else rng.uniform(-6, 6)))
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    dst = (corners @ rot.T + [cx, cy]).astype(np.float32)
    src = np.array([[0, 0], [dw, 0], [dw, dh], [0, dh]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    scene = _scene(rng, sw, sh)
    warped = cv2.warpPerspective(doc, matrix, (sw, sh), flags=cv2.INTER_AREA if frac < 1 else cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((dh, dw), 255, np.uint8), matrix, (sw, sh), flags=cv2.INTER_LINEAR)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    img = scene.astype(np.float32) * (1 - alpha) + warped.astype(np.float32) * alpha
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32)
    gx, gy = rng.uniform(-0.25, 0.25, size=2)
    light = 1.0 + gx * (xx / sw - 0.5) + gy * (yy / sh - 0.5)
    if condition == "lowlight":
        light *= float(rng.uniform(0.22, 0.3) if strong else rng.uniform(0.4, 0.5))
        light *= 1.0 + float(rng.uniform(0.2, 0.4)) * ((xx / sw) - 0.5)  # uneven
    img *= light[..., None]
    if condition == "glare":
        gxc, gyc = dst[:, 0].mean(), dst[:, 1].mean()
        gxc += float(rng.uniform(-0.35, 0.35)) * target_w
        gyc += float(rng.uniform(-0.3, 0.15 if not strong else 0.35)) * target_h
        radius = target_w * float(rng.uniform(0.12, 0.2) if strong else rng.uniform(0.06, 0.11))
        blob = np.exp(-(((xx - gxc) / radius) ** 2 + ((yy - gyc) / (radius * 0.7)) ** 2))
        img += blob[..., None] * (255.0 if strong else 170.0)
    sigma = float(rng.uniform(0.3, 1.0) if not (strong and condition != "glare") else rng.uniform(0.6, 1.3))
    img = cv2.GaussianBlur(np.clip(img, 0, 255), (0, 0), sigma)
    noise = 2.0 + (6.0 if condition == "lowlight" else 0.0) * (2 if strong else 1)
    img = img + rng.normal(0, noise, size=img.shape)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)[:, :, ::-1])
    if condition == "mild":
        out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 0.6))))
    buffer = io.BytesIO()
    quality = int(rng.integers(55, 91)) if not strong else int(rng.integers(45, 80))
    out.save(buffer, format="JPEG", quality=quality)
    jpeg = buffer.getvalue()
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    return np.asarray(decoded, dtype=np.uint8), jpeg


def make_document(seed: int, condition: str, strength: str, *, today: date) -> HeldoutDocument:
    """One document of the held-out set: seed, condition and strength decide everything."""
    rng = np.random.default_rng([seed, CONDITIONS.index(condition), STRENGTHS.index(strength)])
    kind = str(rng.choice(["TD3", "TD1", "TD2"], p=[0.5, 0.35, 0.15]))
    person = identity(rng, today)
    lines = mrz_lines(kind, person)
    page = draw_page(kind, lines, person, rng)
    image, jpeg = photograph(page, condition, strength, rng)
    return HeldoutDocument(image, jpeg, kind, lines, person)


def make_visa(seed: int, condition: str, strength: str, *, today: date) -> HeldoutDocument:
    """A visa (MRV-A or MRV-B) of the held-out set, photographed like the other documents."""
    rng = np.random.default_rng([seed, 7, CONDITIONS.index(condition), STRENGTHS.index(strength)])
    kind = str(rng.choice(["MRVA", "MRVB"]))
    person = identity(rng, today)
    lines = mrz_lines(kind, person)
    image, jpeg = photograph(draw_page(kind, lines, person, rng), condition, strength, rng)
    return HeldoutDocument(image, jpeg, kind, lines, person)
