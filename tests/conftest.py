"""Shared fixtures: a small generated corpus, a loopback HTTP server, prepared data, one tiny config."""

from __future__ import annotations

import io
import os
import random
import re
import runpy
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from charlm import config
from charlm.data import prepare, save_prepared

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
    stall: bool = False  # send the headers, then nothing until the server shuts down (a hung server)
    cut: bool = False  # announce the whole body (Content-Length, or a chunk of its size), send half, close
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    fail_first: int = 0  # answer the first N requests with 503, as an overloaded server would
    hits: int = 0


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 serving fixed routes; started and stopped by the test."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.release = threading.Event()  # set at shutdown: stalled responses end then
        routes, release = self.routes, self.release

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
                body = route.body[: len(route.body) // 2] if route.cut else route.body
                if route.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(f"{len(route.body):x}\r\n".encode() + body)
                    if not route.cut:
                        self.wfile.write(b"\r\n0\r\n\r\n")
                    return
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if route.stall:
                    release.wait()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@contextmanager
def serve(routes: dict[str, Route] | None = None) -> Iterator[LoopbackServer]:
    """A loopback server for the duration of the block."""
    server = LoopbackServer()
    server.routes.update(routes or {})
    server.thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    with serve() as server:
        yield server


# The one tiny configuration: params.yaml with these dotted keys overridden, for real `dvc repro`
# runs and for in-process training alike. Tiny model, tiny windows, two epochs.
TINY = {
    "model.maxlen": 16, "model.embed_dim": 8, "model.hidden_size": 16, "model.num_layers": 1,
    "train.step": 3, "train.batch_size": 64, "train.max_epochs": 2, "train.max_time": None,
    "train.val_check_interval": 1.0, "train.precision": "32-true",  # the same arithmetic on every CPU
    "train.objective": "last", "train.carry_state": 0.0, "train.schedule": "constant", "sample.length": 120,
}


def ddp(processes: int) -> dict[str, object]:
    """Params for training in `processes` CPU processes under Lightning's DDP (gloo), one torch thread each."""
    if processes == 1:
        return {}
    return {"train.devices": processes, "train.strategy": "ddp", "train.accelerator": "cpu", "train.threads": 1}


def project_params(overrides: dict[str, Any]) -> dict[str, Any]:
    """The project's params.yaml as a dict, with dotted keys overridden."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for dotted, value in overrides.items():
        *parents, last = dotted.split(".")
        node = params
        for p in parents:
            node = node[p]
        node[last] = value
    return params


def tiny(name: str, **overrides: Any) -> Any:
    """One checked params section of the tiny configuration, e.g. tiny("train", lr=0.0)."""
    return config.section(project_params({**TINY, **{f"{name}.{k}": v for k, v in overrides.items()}}), name)


def corpus(source: str | list[str], **overrides: Any) -> config.Corpus:
    """The project's corpus section with another source (and overrides), for calling `download` directly."""
    return tiny("corpus", source=source, **overrides)


@pytest.fixture
def prepared_dir(tmp_path: Path, tiny_text: str) -> Path:
    """data/prepared for the tiny corpus, written by the library's own functions."""
    out = tmp_path / "prepared"
    save_prepared(out, *prepare(tiny_text, 0.1))
    return out


@pytest.fixture(scope="session", autouse=True)
def compiled_step() -> None:
    """numba compiles the generation step once (~15 s) into charlm/__pycache__; `copy_project` copies that
    cache with the sources (mtimes kept, so numba accepts it), as in a checkout that has sampled before."""
    from charlm import LitCharRNN
    from charlm.generate import generate

    generate(LitCharRNN(3, embed_dim=2, hidden_size=2, vocab=["a", "b", "c"]), [0], [1.0], 1)


def copy_project(dest: Path) -> None:
    """The files a user clones: the library, the stage scripts, dvc.yaml, params.yaml, data/books/."""
    shutil.copytree(ROOT / "charlm", dest / "charlm")  # with its __pycache__: see compiled_step
    for name in ("stages", "data/books"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(ROOT / name, dest / name)


def write_params(dest: Path, overrides: dict[str, object]) -> None:
    """params.yaml in `dest`: the project's own, with dotted keys overridden."""
    (dest / "params.yaml").write_text(yaml.safe_dump(project_params(overrides), sort_keys=False))


def env_with_venv() -> dict[str, str]:
    """This environment with this interpreter's directory first on PATH (as an activated venv)."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def run_stage(name: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m stages.<name>` as DVC runs it, from `cwd`, with this checkout's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def run_here(name: str, cwd: Path) -> tuple[int, str]:
    """`python -m stages.<name>` run in this process (the same module as __main__, the same files, no
    interpreter start-up: torch and Lightning are imported once per test session): exit code and stderr."""
    err, before = io.StringIO(), os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            runpy.run_module(f"stages.{name}", run_name="__main__")
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        os.chdir(before)
    return code, err.getvalue()


def sh(repo: Path, *args: str) -> str:
    """Run a command in the repo; it must succeed. Returns stdout + stderr."""
    result = subprocess.run(args, cwd=repo, env=env_with_venv(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


DVC = (sys.executable, "-m", "dvc")
STAGES = ("download", "prepare", "train", "sample", "plot_softmax")


def repro(repo: Path, *args: str) -> set[str]:
    """`dvc repro [args]`; returns the stages that ran their command."""
    out = sh(repo, *DVC, "repro", *args)
    return set(re.findall(r"Running stage '(\w+)'", out))


def init_repo(path: Path) -> None:
    """Make `path` a git + DVC repository with everything committed, as a fresh clone is."""
    sh(path, "git", "init", "-q")
    sh(path, *DVC, "init", "-q")
    sh(path, "git", "add", "-A")
    sh(path, "git", "commit", "-qm", "project")
