"""The image as the Dockerfile builds it, and the deployment's shared files.

Docker is not on the machines that test this, so the image's steps are run
as its build runs them: its `assets` stage runs `deploy/assets.sh` on the
source tree, and its last stage copies what that made. A copy of the tree
built so, started with DEBUG off as the image starts, must serve every static
file its pages name and speak Spanish (before, the image held neither: the
catalogues were never compiled in it, and `collectstatic` ran in the one-off
`migrate` container, whose files no web instance sees)."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_stages() -> dict[str, list[str]]:
    """The Dockerfile's instructions by stage name (the last stage is "final")."""
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            words = line.split()
            current = []
            stages[words[3] if len(words) > 3 and words[2].upper() == "AS" else f"stage{len(stages)}"] = current
        current.append(line)
    last = list(stages)[-1]
    stages["final"] = stages.pop(last)
    return stages


def test_the_image_keeps_what_its_assets_stage_makes():
    stages = dockerfile_stages()
    assert "assets" in stages, "the Dockerfile has no stage named assets"
    assert "RUN sh deploy/assets.sh messages static" in stages["assets"]
    final = stages["final"]
    for made in ("/app/locale", "/app/staticfiles"):
        assert f"COPY --from=assets {made} {made}" in final, f"the image does not keep {made}"
    # The copies come after the source tree's, which would otherwise stand over them.
    assert final.index("COPY . .") < final.index("COPY --from=assets /app/staticfiles /app/staticfiles")


def tree_copy(where: Path) -> Path:
    """The files the image's `COPY . .` takes: the tree's, as they are now."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, where / name)
    return where


SERVE = """
import json, re, django
django.setup()
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

client = Client()
pages = {path: client.get(path).content.decode() for path in ("/api/docs/", "/admin/login/")}
named = set(json.loads(NAMED))
for html in pages.values():
    named.update(re.findall(r'(?:src|href)="(/static/[^"?#]+)', html))
translation.activate("es")
print(json.dumps({"statuses": {path: client.get(path).status_code for path in sorted(named)},
                  "spanish": gettext("Find a meeting")}))
"""


def test_a_tree_built_as_the_image_serves_its_static_files_and_its_spanish(tmp_path):
    if shutil.which("msgfmt") is None:
        pytest.fail("this test needs gettext's msgfmt (apt-get install gettext)")
    tree = tree_copy(tmp_path / "app")
    assert not (tree / "staticfiles").exists() and not list(tree.glob("locale/*/LC_MESSAGES/*.mo"))
    subprocess.run(["sh", "deploy/assets.sh", "messages", "static"], cwd=tree, check=True, timeout=300,
                   env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable, "PYTHONDONTWRITEBYTECODE": "1"})

    # What the pages' templates name, and what the pages served name.
    named = sorted({f"/static/{name}" for template in tree.glob("*/templates/**/*.html")
                    for name in re.findall(r"{% static ['\"]([^'\"]+)['\"]", template.read_text())})
    assert "/static/meetings/pages.js" in named
    served = subprocess.run(
        [sys.executable, "-c", SERVE.replace("NAMED", repr(json.dumps(named)))], cwd=tree, timeout=120,
        capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1", "DJANGO_SETTINGS_MODULE": "meetingfinder.settings",
             "DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
             "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
    assert served.returncode == 0, served.stderr
    answer = json.loads(served.stdout.splitlines()[-1])
    assert len(answer["statuses"]) > len(named), "the pages named no static file of their own"
    assert {path: status for path, status in answer["statuses"].items() if status != 200} == {}
    assert answer["spanish"] == "Buscar una reunión"


def test_web_and_workers_share_the_uploaded_feed_files():
    """A feed file uploaded in the admin (a web instance) is read by the
    import (a worker): both mount one volume where MEDIA_ROOT is."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("web", "worker"):
        assert "media:/app/media" in services[name].get("volumes", []), f"{name} does not mount the media volume"
    assert "media" in compose["volumes"]
    assert "collectstatic" not in str(services["migrate"]["command"]), "the migrate container's files are its own"
