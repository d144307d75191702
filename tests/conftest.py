"""Shared fixtures: a small generated corpus, a loopback HTTP server, prepared data, a tiny config."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from stages.download import write_json
from stages.prepare import prepare, save_array

ROOT = Path(__file__).resolve().parents[1]

WORDS = ("the king and queen of the realm speak to thee my lord what say you now good night sweet "
         "prince fair love doth come hither but not so soon for all is well that ends well").split()


def make_text(n_lines: int = 150, seed: int = 0) -> str:
    """Play-like text: speaker lines and verse lines drawn from a small vocabulary."""
    rng = random.Random(seed)
    lines = []
    for i in range(n_lines):
        if i % 4 == 0:
            lines.append(rng.choice(["KING:", "QUEEN:", "HAMLET:"]))
        else:
            lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))).capitalize() + rng.choice(".,;!?"))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def tiny_text() -> str:
    return make_text()


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain; charset=utf-8"})
    delay: float = 0.0  # seconds to wait before sending the body
    fail_first: int = 0  # answer the first N requests with 503, as an overloaded server would
    hits: int = 0


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 serving fixed routes; started and stopped by the test."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                route = routes.get(self.path, Route(b"not found", 404))
                route.hits += 1
                if route.hits <= route.fail_first:
                    self.send_error(503, "Service Unavailable")
                    return
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                time.sleep(route.delay)
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def prepared_dir(tmp_path: Path, tiny_text: str) -> Path:
    """data/prepared for the tiny corpus, written by the prepare stage's own functions."""
    out = tmp_path / "prepared"
    idx2char, train, val, _ = prepare(tiny_text, 0.1, 16, 3)
    save_array(out / "train.npy", train)
    save_array(out / "val.npy", val)
    write_json(out / "vocab.json", {"idx2char": idx2char, "char2idx": {c: i for i, c in enumerate(idx2char)}})
    return out


TINY_MODEL = {"embed_dim": 8, "hidden_size": 16, "num_layers": 1, "dropout": 0.0}
TINY_TRAIN = {"lr": 0.01, "batch_size": 64, "max_epochs": 2, "max_time": None, "patience": 5, "objective": "last",
              "schedule": "constant", "warmup": 0.0, "grad_clip": None}


def copy_project(dest: Path) -> None:
    """The files a user clones: stage code, dvc.yaml, params.yaml."""
    shutil.copytree(ROOT / "stages", dest / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", "params.yaml", ".gitignore"):
        shutil.copy(ROOT / name, dest / name)


def write_params(dest: Path, overrides: dict[str, object]) -> None:
    """params.yaml in `dest`: the project's own, with dotted keys overridden."""
    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for dotted, value in overrides.items():
        *parents, last = dotted.split(".")
        node = params
        for p in parents:
            node = node[p]
        node[last] = value
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run_stage(name: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m stages.<name>` as DVC runs it, from `cwd`, with this checkout's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def sh(repo: Path, *args: str) -> str:
    """Run a command in the repo with this interpreter's environment first on PATH (as an activated venv)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    result = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def repro(repo: Path, *targets: str) -> set[str]:
    """`dvc repro [targets]`; returns the stages that ran."""
    out = sh(repo, sys.executable, "-m", "dvc", "repro", *targets)
    return set(re.findall(r"Running stage '(\w+)'", out))


def init_repo(path: Path) -> None:
    """Make `path` a git + DVC repository with everything committed, as a fresh clone is."""
    sh(path, "git", "init", "-q")
    sh(path, sys.executable, "-m", "dvc", "init", "-q")
    sh(path, "git", "add", "-A")
    sh(path, "git", "commit", "-qm", "project")
