"""Feedback forms → PDF with LibreOffice (`make pdf`; Debian libreoffice-writer-nogui).

The forms name the fonts a Chinese office has (仿宋, 黑体, 宋体); fonts.conf maps them onto the
Noto CJK faces for the conversion only, so the PDF shows Song-style body text and Hei headings
instead of whatever fontconfig would pick first. A throw-away LibreOffice profile keeps the
conversion from touching (or waiting on) a user's running LibreOffice."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FONTS_CONF = Path(__file__).with_name("fonts.conf")
TIMEOUT_S = 300


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_pdf(docx_paths: list[Path]) -> list[Path]:
    """Write {name}.pdf next to each .docx (atomically); returns the PDF paths."""
    exe = soffice()
    if exe is None:
        raise RuntimeError(
            "soffice not found: install LibreOffice (apt-get install libreoffice-writer-nogui)"
        )
    env = {**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF)}
    written = []
    with tempfile.TemporaryDirectory(prefix="perfeval-soffice-") as profile:
        for docx in map(Path, docx_paths):
            # Output lands in a temp folder beside the form, then is renamed over the old PDF.
            with tempfile.TemporaryDirectory(dir=docx.parent, prefix=".pdf-") as outdir:
                cmd = [
                    exe,
                    f"-env:UserInstallation={Path(profile).as_uri()}",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    outdir,
                    str(docx),
                ]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
                produced = Path(outdir) / f"{docx.stem}.pdf"
                if done.returncode != 0 or not produced.exists():
                    raise RuntimeError(
                        f"soffice could not convert {docx}: {done.stderr.strip() or done.stdout}"
                    )
                target = docx.with_suffix(".pdf")
                os.replace(produced, target)
                written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    from perfeval_pipeline.config import settings

    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args] or sorted(settings().reports_dir.glob("*/*/feedback_form.docx"))
    if not paths:
        print("pdf: no reports/*/*/feedback_form.docx yet (make run first)", file=sys.stderr)
        return 0
    for pdf in convert_to_pdf(paths):
        print(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
