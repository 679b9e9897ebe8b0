"""Story pictures copied for an edition: what re-encoding costs, against Pillow's bare
decode and save of the same file in the same run.

For camera-sized JPEGs (with EXIF and a GPS position) and PNGs, ``reencode`` (decode under
bounds, turn upright, drop metadata, resize to 520 and 1040 px, optimised JPEG twice) is
timed next to a baseline that only decodes the file and saves it once as JPEG at full
size. Prints milliseconds per picture for both, their ratio, and the bytes in and out.

Checks (exit status 1 when one fails): every copy decodes as a JPEG without EXIF, at most
1040 px wide; the original's GPS bytes are in no copy. No goal on time is judged.

    .venv/bin/python bench/pictures.py [--pictures 24]
    .venv/bin/python bench/pictures.py --smoke      # 4 small pictures
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from digest.publish.pictures import reencode  # noqa: E402

MARK = "BenchCamGPS"


def camera_jpeg(width: int, height: int, seed: int) -> bytes:
    """A JPEG with texture (so that it compresses like a photo), EXIF and GPS."""
    image = Image.effect_noise((width, height), 40 + seed % 30).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = MARK
    exif[0x8825] = {1: "S", 2: (23.0, 32.0, 51.0), 3: "W", 4: (46.0, 38.0, 10.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def chart_png(width: int, height: int) -> bytes:
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def baseline(data: bytes) -> bytes:
    """Decode and save once as JPEG at full size: the least any copy costs."""
    with Image.open(io.BytesIO(data)) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=82)
        return out.getvalue()


def timed(work: Callable[[bytes], object], files: list[bytes]) -> float:
    start = time.perf_counter()
    for data in files:
        work(data)
    return (time.perf_counter() - start) * 1000 / len(files)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pictures", type=int, default=24)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    count, size = (4, (900, 600)) if args.smoke else (args.pictures, (3000, 2000))
    files = [
        camera_jpeg(*size, i) if i % 4 else chart_png(size[0] // 2, size[1] // 2)
        for i in range(count)
    ]
    failures: list[str] = []
    outputs = [reencode(data) for data in files]
    for number, encoded in enumerate(outputs):
        for copy in encoded.files:
            image = Image.open(io.BytesIO(copy))
            if image.format != "JPEG" or image.getexif() or image.width > 1040:
                failures.append(f"picture {number}: {image.format} {image.size} with metadata")
            if MARK.encode() in copy:
                failures.append(f"picture {number}: the camera's EXIF survived")
    ours = timed(reencode, files)
    bare = timed(baseline, files)
    bytes_in = statistics.mean(len(f) for f in files)
    bytes_out = statistics.mean(sum(len(c) for c in e.files) for e in outputs)
    print(f"{count} pictures of {size[0]}x{size[1]} px (every 4th a PNG chart)")
    print(f"reencode (1x + 2x, no metadata)  {ours:8.1f} ms/picture")
    print(f"baseline (decode + save once)    {bare:8.1f} ms/picture")
    print(f"ratio reencode / baseline        {ours / bare:8.2f}")
    print(f"bytes: {bytes_in / 1024:.0f} KiB in, {bytes_out / 1024:.0f} KiB out (both sizes)")
    for line in failures:
        print(f"FAILED: {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
