"""The README is a front door: short, no lab-notebook history, and its example runs."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_is_at_most_120_lines():
    assert len(README.splitlines()) <= 120


def test_readme_has_no_commit_hashes_or_dates():
    assert not re.search(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b", README)
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", README)


def test_readme_python_example_runs_from_outside_the_checkout(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks, "the README has a Python example"
    for code in blocks:
        run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip()


def test_readme_links_point_at_files_in_the_repository():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target
