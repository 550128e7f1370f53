"""Save a picture of one frame of a step-through page (``viz.html``) with headless Chromium.

    python docs/screenshot.py out/rnn-bptt.html docs/rnn-bptt-page.png [--frame K]

Uses Debian's ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (``make chromium`` installs
them) through selenium, told both paths so that nothing is downloaded. Without ``--frame`` the
middle frame is shown.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync "
    "--hide-scrollbars --window-size=1400,860"
).split()


def screenshot(page: str, out: str, frame: int | None = None) -> int:
    """Open ``page`` at ``frame`` (default: the middle one), write a PNG to ``out``; the frame."""
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for a browser online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            driver.get(Path(page).resolve().as_uri())
            shown = driver.execute_script(
                "const k = arguments[0] ?? Math.floor(minigradSteps.length / 2);"
                "document.getElementById('graph').classList.add('fit');"
                "return minigradGo(k);",
                frame,
            )
            folder = Path(out).resolve().parent
            folder.mkdir(parents=True, exist_ok=True)
            temp = folder / f".{Path(out).name}.tmp.png"
            driver.save_screenshot(str(temp))
            os.replace(temp, out)  # the picture whole or not at all
        finally:
            driver.quit()
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="an HTML page written by viz.html or minigrad bptt --html")
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--frame", type=int, default=None, help="frame to show (default: middle)")
    args = parser.parse_args()
    frame = screenshot(args.page, args.out, args.frame)
    print(f"wrote {args.out} (frame {frame})")


if __name__ == "__main__":
    main()
