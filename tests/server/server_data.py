"""Real inputs for the server tests and the load benchmark, chosen from the shared data folder."""

from __future__ import annotations

import csv
from pathlib import Path

# 24 photos, one face each, every one enrols (require_single) on its own: 14 of six people from
# facerec-examples and two of each of the five Johns of dlib-johns.
FACEREC_PHOTOS = (
    "alex_lacamoire/alex-lacamoire.png",
    "alex_lacamoire/img1.jpg",
    "biden/biden.jpg",
    "biden/biden2.jpg",
    "kit_harington/john1.jpeg",
    "kit_harington/john2.jpeg",
    "lin_manuel_miranda/lin-manuel-miranda.png",
    "obama/obama.jpg",
    "obama/obama1.jpg",
    "obama/obama2.jpg",
    "obama/obama_small.jpg",
    "rose_leslie/img1.jpg",
    "rose_leslie/img2.jpg",
    "kit_harington/johnsnow_test1.jpg",
)
JOHNS = ("John_Salley", "John_Savage", "John_Schneider", "John_Shimkus", "John_Simm")


def face_photos(shared: Path) -> dict[str, bytes]:
    """24 named photos (name: ``p00``..``p23``) of single faces, read once."""
    paths = [shared / "facerec-examples" / "identities" / name for name in FACEREC_PHOTOS]
    for john in JOHNS:
        paths.extend(sorted((shared / "dlib-johns" / john).glob("*.jpg"))[:2])
    return {f"p{i:02d}": path.read_bytes() for i, path in enumerate(paths)}


def compare_pairs(shared: Path, count: int = 32) -> list[tuple[bytes, bytes]]:
    """``count`` pairs spread over facerec-examples/pairs_all.csv (genuine and impostor)."""
    folder = shared / "facerec-examples"
    with (folder / "pairs_all.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    step = max(1, len(rows) // count)
    chosen = rows[::step][:count]
    cache: dict[str, bytes] = {}

    def read(name: str) -> bytes:
        if name not in cache:
            cache[name] = (folder / name).read_bytes()
        return cache[name]

    return [(read(row["image_a"]), read(row["image_b"])) for row in chosen]


def grid_videos(shared: Path, count: int = 8) -> dict[str, bytes]:
    """``count`` genuine GRID talking-face clips (3 s, 360x288), by file name."""
    folder = shared / "grid-talking-face-videos"
    paths = sorted(folder.glob("*.mpg"))[:count]
    return {path.name: path.read_bytes() for path in paths}


def first_frame_jpeg(video: Path) -> bytes:
    """The clip's first frame as JPEG: a reference photo of the same person."""
    import av
    import cv2

    with av.open(str(video)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="bgr24")
    ok, jpeg = cv2.imencode(".jpg", frame)
    if not ok:
        raise RuntimeError(f"could not encode a frame of {video.name}")
    return bytes(jpeg.tobytes())


def mrz_specimen(shared: Path) -> bytes:
    """The ICAO TD3 passport specimen (an MRZ OCR reads)."""
    return (shared / "mrz-specimens" / "td3.jpg").read_bytes()
