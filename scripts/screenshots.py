"""Draw the screenshots in docs/images: the screening screen at 80x24 and 120x40 (SVG, text kept as text), and
the rendered report (PNG, headless Chromium).

    python scripts/screenshots.py [--no-report]

The screen is drawn by the screen's own code (:class:`synth.screening.tui.ScreenSession`) on a small review this
script builds in a temporary folder, with a model ranking after a few decisions, so what is shown is what a
reviewer sees. The report is the bundled flagship's, from ``synth run`` (offline, on a throwaway store; it
writes ``out/``, which git ignores).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"

RECORDS = [
    ("Integrated health and social care teams for older people living at home: a cluster randomised trial",
     "Background: Joint teams of community nurses, social workers and therapists are widely commissioned, but "
     "their effect on outcomes people value is unclear. Methods: 24 general practices were randomised to an "
     "integrated team or usual care; 1,213 people aged 75 or over took part. The primary outcome was health-related "
     "quality of life (EQ-5D) at 12 months; secondary outcomes were carer strain, unplanned admissions, admission "
     "to a care home and mortality. Results: Quality of life did not differ (mean difference 0.01, 95% CI -0.02 to "
     "0.04). Carer strain was lower with the integrated team (p &lt; 0.05). Unplanned admissions and care-home "
     "admissions did not differ. Conclusions: Integrated teams did not improve quality of life at 12 months; the "
     "reduction in carer strain needs confirming in a trial powered for it. Trial registration: ISRCTN00000000.",
     "Khan, S; Morris, E; Okafor, C; Lindqvist, A", 2021, "Journal of Integrated Care"),
    ("Pooled budgets and carers' outcomes: a controlled before-and-after study",
     "We compared 14 areas that pooled health and social care budgets with 14 matched areas.", "Brown, T", 2018,
     "Health &amp; Social Care in the Community"),
    ("A paediatric asthma education programme in schools", "Children with asthma in 40 schools.", "Lee, J",
     2015, "Thorax"),
    ("Hospital discharge planning with social workers on the ward", "Discharge planning by joint teams.",
     "Patel, R", 2019, "Age and Ageing"),
]


def build_store(tmp: Path) -> str:
    import sqlalchemy as sa

    from synth.records.model import Author, Provenance, Record
    from synth.store import open_store
    from synth.store.records import insert_records
    from synth.store.schema import records

    url = f"sqlite:///{tmp / 'review.sqlite'}"
    store = open_store(url)
    with store.begin() as conn:
        insert_records(conn, [
            Record(title=t, abstract=a, year=y, journal=j,
                   authors=[Author(family=n.split(", ")[0], given=n.split(", ")[1]) for n in who.split("; ")],
                   provenance=Provenance(source="screenshots", source_record_id=str(i)), raw={})
            for i, (t, a, who, y, j) in enumerate(RECORDS)])
        conn.execute(sa.update(records).values(cluster_id=records.c.id))
    store.close()
    return url


def screen_svgs(tmp: Path) -> list[Path]:
    from rich.console import Console

    from synth.protocol import load_protocol
    from synth.screening.service import Settings, decide
    from synth.screening.tui import ScreenSession
    from synth.store import open_store

    url = build_store(tmp)
    settings = Settings.from_protocol(load_protocol(ROOT / "protocols" / "partnership-outcomes.toml"))
    store = open_store(url)
    decide(store, settings, record_id=3, stage="title-abstract", reviewer="alice", decision="exclude",
           reason="population")
    decide(store, settings, record_id=4, stage="title-abstract", reviewer="alice", decision="include")
    written = []
    for width, height in ((80, 24), (120, 40)):
        console = Console(file=io.StringIO(), width=width, height=height, record=True, force_terminal=True,
                          color_system="truecolor")
        session = ScreenSession(store, settings, "title-abstract", "alice", console=console, prioritise=True,
                                ranker_process=False)
        assert session.ranker is not None and session.ranker.wait_idle(60)
        session.ranker.close()
        session.tags[1] = ["ask author"]
        console.print(session.render(1))
        path = IMAGES / f"screen-{width}x{height}.svg"
        console.save_svg(str(path), title=f"synth screen ({width}x{height})")
        written.append(path)
    store.close()
    return written


def report_png(tmp: Path) -> Path:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        raise SystemExit("no Chromium on PATH: install it, or pass --no-report")
    subprocess.run([sys.executable, "-m", "synth", "--workspace", str(ROOT), "--db",
                    f"sqlite:///{tmp / 'flagship.sqlite'}", "run"], check=True, stdout=subprocess.DEVNULL)
    html = ROOT / "out" / "partnership-outcomes" / "report.html"
    path = IMAGES / "report.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={path}", "--window-size=1280,1600", html.as_uri()],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-report", action="store_true", help="only the screen's screenshots")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        paths = screen_svgs(Path(tmp))
        if not args.no_report:
            paths.append(report_png(Path(tmp)))
    for p in paths:
        print(f"wrote {p.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
