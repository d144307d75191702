"""The default pipeline needs no network: tiny Shakespeare ships in data/books/, pinned by its sha256.
Here the download and prepare stages run in a network namespace with no way out (unshare -n)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import pytest

from bench.project import DVC, ROOT, commit, copy_project, environment
from charlm import params

BOOK = ROOT / "data/books/tinyshakespeare.txt"


def offline(*command: str) -> list[str]:
    """`command` with no network: in a new network namespace (loopback only, and that one down)."""
    return ["unshare", "--net", "--", *command]


def test_the_default_corpus_is_the_shipped_book():
    cfg = params.load("corpus", path=ROOT / "params.yaml")
    assert cfg.source == "data/books/tinyshakespeare.txt"
    assert hashlib.sha256(BOOK.read_bytes()).hexdigest() == cfg.sha256  # char-rnn's input.txt, byte for byte


@pytest.mark.skipif(shutil.which("unshare") is None, reason="util-linux's unshare is not installed")
def test_download_and_prepare_run_without_a_network(tmp_path):
    repo = copy_project(tmp_path / "clone")
    commit(repo)
    reach = "import socket; socket.create_connection(('1.1.1.1', 80), 3)"
    probe = subprocess.run(offline("python3", "-c", reach), capture_output=True, text=True)
    if "Operation not permitted" in probe.stderr:
        pytest.skip("no permission to make a network namespace (CI runs as root and has it)")
    assert probe.returncode != 0 and "Network is unreachable" in probe.stderr  # truly offline in there
    result = subprocess.run(offline(*DVC, "repro", "prepare"), cwd=repo, env=environment(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    provenance = json.loads((repo / "data/raw/provenance.json").read_text())
    assert provenance["source"] == "data/books/tinyshakespeare.txt" and "url" not in provenance
    stats = json.loads((repo / "metrics/prepare.json").read_text())
    assert stats["characters"] == 1_115_394 and stats["vocab_size"] == 65
