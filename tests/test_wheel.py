"""The built wheel works on its own: it ships every template and prompt, and installed
(not editable) in a fresh virtualenv it ingests the examples and writes a preview from a
folder outside the checkout. Everything offline: pip builds without isolation and
installs without an index.

The fresh virtualenv borrows this environment's third-party packages (torch,
transformers, the bundled encoder...) through a ``.pth`` line naming its site-packages.
A folder added by a ``.pth`` line is not a site folder, so the ``.pth`` of the editable
install that lies there (which would put ``src/`` on the path) is never read: ``digest``
can only come from the wheel, and the test checks that it does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import lxml.html
import pytest
import yaml

from digest.summarize.generative import load_prompt

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "digest"
DAY = "2026-11-24"
PIP = (sys.executable, "-m", "pip")
OFFLINE = ("--no-deps", "--no-index", "--quiet")


def run(*command: str | Path, cwd: Path | None = None) -> str:
    """Run ``command`` offline, without this checkout on the path; its stdout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PIP_NO_INPUT": "1"}
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def shipped_resources() -> set[str]:
    """The wheel paths of the templates and prompts that ``src/digest`` holds."""
    files = [
        *(PACKAGE / "templates").glob("*.j2"),
        *(PACKAGE / "templates").glob("*.css"),
        *(PACKAGE / "web" / "templates").glob("*.j2"),  # the pages digest serves
        *(PACKAGE / "prompts").glob("*.j2"),
        *(PACKAGE / "locale").glob("*/LC_MESSAGES/*.po"),
    ]
    return {f"digest/{f.relative_to(PACKAGE).as_posix()}" for f in files}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the sources (so that the build writes nothing into
    the checkout: no build/, no fresh egg-info beside the editable install's)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "src", source / "src", ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    run(*PIP, "wheel", *OFFLINE, "--no-build-isolation", "--wheel-dir", work / "dist", source)
    (built,) = (work / "dist").glob("digest-*.whl")
    return built


def test_the_wheel_ships_every_template_and_prompt_and_no_dev_tool(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
        requires = [
            line
            for line in archive.read(metadata).decode().splitlines()
            if line.startswith("Requires-Dist: aiosmtpd")
        ]
    resources = shipped_resources()
    assert {"digest/templates/newsletter.html.j2", "digest/prompts/keypoints.j2"} <= resources
    assert "digest/templates/newsletter.css" in resources
    assert sorted(resources - names) == []
    assert not [n for n in names if n.startswith(("tools/", "digest/smtp_sink", "digest/demo"))]
    assert requires and all("extra ==" in line for line in requires)  # aiosmtpd: dev only


def test_the_installed_wheel_ingests_and_previews_outside_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(*PIP, "--python", python, "install", *OFFLINE, wheel)
    # Only now borrow the dependencies: pip must not see the editable digest's metadata.
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip())
    ours = dict.fromkeys(sysconfig.get_path(kind) for kind in ("purelib", "platlib"))
    (site / "_digest_test_dependencies.pth").write_text("".join(f"{p}\n" for p in ours))

    work = tmp_path / "work"
    work.mkdir()
    where = run(
        python,
        "-c",
        "import digest\n"
        "from digest.publish.render import bundled_templates\n"
        "from digest.summarize.generative import load_prompt\n"
        "print(digest.__file__)\n"
        "print(bundled_templates() / 'newsletter.html.j2')\n"
        "print(load_prompt('keypoints').version)\n",
        cwd=work,
    ).splitlines()
    assert Path(where[0]).is_relative_to(site), where  # the wheel's digest, not src/
    assert Path(where[1]).is_relative_to(site) and Path(where[1]).is_file(), where
    assert where[2] == load_prompt("keypoints").version

    config = work / "config.yaml"
    examples = {"name": "examples", "location": str(ROOT / "examples"), "kind": "folder"}
    # German: the message catalogs must load from the installed wheel too.
    newsletter = {"language": "de"}
    config.write_text(
        yaml.safe_dump({"data_dir": "data", "sources": [examples], "newsletter": newsletter})
    )
    digest = venv / "bin" / "digest"
    run(digest, "--config", config, "ingest", cwd=work)
    out = run(digest, "--config", config, "preview", "--date", DAY, cwd=work)

    page = work / "data" / "previews" / f"{DAY}.html"
    assert str(page) in out
    doc = lxml.html.document_fromstring(page.read_text(encoding="utf-8"))
    headlines = [h.text_content().strip() for h in doc.find_class("headline")]
    assert len(headlines) >= 3, headlines
    assert "Forty-Two Nations Sign Geneva Accord on Shared Rivers" in headlines  # examples/
    assert doc.get_element_by_id("digest-editor-panel") is not None
    assert doc.find_class("headline")[0].get("style")  # newsletter.css, inlined
    text = page.with_suffix(".txt").read_text(encoding="utf-8")
    assert "THE DAILY DIGEST" in text
    assert "Guten Morgen." in text and "Dienstag, 24. November 2026" in text
    assert (doc.get("lang"), doc.get("dir")) == ("de", "ltr")
