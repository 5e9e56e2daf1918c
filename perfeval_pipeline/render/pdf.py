"""Reports → PDF with LibreOffice (`make pdf`; Debian libreoffice-writer-nogui for the forms,
libreoffice-calc-nogui for the workbooks).

The forms name the fonts a Chinese office has (仿宋, 黑体, 宋体); fonts.conf maps them onto the
Noto CJK faces for the conversion only, so the PDF shows Song-style body text and Hei headings
instead of whatever fontconfig would pick first. A throw-away LibreOffice profile (or the one the
caller names) keeps the conversion from touching, or waiting on, a user's running LibreOffice, and
parallel conversions from colliding.

A form converts to {name}.pdf beside it (feedback_form.docx → feedback_form.pdf); any other file
keeps its extension in the name (feedback_form.xlsx → feedback_form.xlsx.pdf), so a form and its
workbook never overwrite each other's PDF. PDFs get `mode` less the umask, like every report."""

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


def pdf_path(source: Path, outdir: Path | None = None) -> Path:
    """Where the PDF of `source` goes."""
    source = Path(source)
    name = f"{source.stem}.pdf" if source.suffix.lower() == ".docx" else f"{source.name}.pdf"
    return (Path(outdir) if outdir else source.parent) / name


def _batches(paths: list[Path]) -> list[list[Path]]:
    """Groups one soffice call can convert together: LibreOffice names its outputs by stem."""
    batches: list[list[Path]] = []
    for path in paths:
        batch = next((b for b in batches if all(p.stem != path.stem for p in b)), None)
        if batch is None:
            batches.append(batch := [])
        batch.append(path)
    return batches


def convert_to_pdf(
    paths: list[Path], *, outdir: Path | None = None, mode: int = 0o666, profile: Path | None = None
) -> list[Path]:
    """Convert each .docx/.xlsx to PDF (beside it, or into `outdir`), atomically, with one soffice
    process per batch of distinct names; returns the PDF paths in the order given. `profile`: the
    LibreOffice user profile folder (a temporary one when None)."""
    exe = soffice()
    if exe is None:
        raise RuntimeError(
            "soffice not found: install LibreOffice (apt-get install libreoffice-writer-nogui "
            "libreoffice-calc-nogui)"
        )
    env = {**os.environ, "FONTCONFIG_FILE": str(FONTS_CONF)}
    sources = [Path(p).resolve() for p in paths]
    targets = {src: pdf_path(src, outdir) for src in sources}
    umask = os.umask(0)
    os.umask(umask)
    with tempfile.TemporaryDirectory(prefix="perfeval-soffice-") as tmp_profile:
        user = Path(profile or tmp_profile).resolve()
        for batch in _batches(sources):
            target_dir = targets[batch[0]].parent
            target_dir.mkdir(parents=True, exist_ok=True)
            # Output lands in a temp folder beside the targets, then is renamed over the old PDFs.
            with tempfile.TemporaryDirectory(dir=target_dir, prefix=".pdf-") as tmp_out:
                cmd = [
                    exe,
                    f"-env:UserInstallation={user.as_uri()}",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    tmp_out,
                    *map(str, batch),
                ]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
                for src in batch:
                    produced = Path(tmp_out) / f"{src.stem}.pdf"
                    if done.returncode != 0 or not produced.exists():
                        raise RuntimeError(
                            f"soffice could not convert {src}: {done.stderr.strip() or done.stdout.strip()}"
                        )
                    os.chmod(produced, mode & ~umask)
                    targets[src].parent.mkdir(parents=True, exist_ok=True)
                    os.replace(produced, targets[src])
    return [targets[src] for src in sources]


def main(argv: list[str] | None = None) -> int:
    from perfeval_pipeline.config import settings

    args = sys.argv[1:] if argv is None else argv
    config = settings()
    paths = [Path(a) for a in args] or sorted(config.reports_dir.glob("*/*/feedback_form.docx"))
    if not paths:
        print("pdf: no reports/*/*/feedback_form.docx yet (make run first)", file=sys.stderr)
        return 0
    for pdf in convert_to_pdf(paths, mode=config.pipeline.report_file_mode):
        print(pdf)
    return 0


if __name__ == "__main__":
    sys.exit(main())
