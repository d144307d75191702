"""Shared test helpers: a small generated corpus, a loopback HTTP server, prepared data, one tiny
configuration, and throwaway projects for real `dvc repro` runs (bench.project builds them).

Tests marked `slow` run real DVC or real training; `pytest -m "not slow"` is the fast inner loop.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import io
import os
import random
import re
import runpy
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

from bench.project import DVC, ROOT, commit, copy_project, environment, project_params, sh, write_params
from charlm import config, params
from charlm.errors import CharlmError
from charlm.prepare import prepare

__all__ = ["DVC", "ROOT", "commit", "copy_project", "environment", "project_params", "sh", "write_params"]

WORDS = ["the", "king", "and", "queen", "of", "the", "realm", "speak", "to", "thee", "my", "lord", "what",
         "say", "you", "now", "good", "night", "sweet", "prince", "fair", "love", "doth", "come", "hither",
         "but", "not", "so", "soon", "for", "all", "is", "well", "that", "ends", "well"]
STAGES = ("download", "prepare", "train", "sample", "plot_softmax")
# a tiny Project Gutenberg book, its body between the current header and footer markers
BODY = "CHAPTER I.\n\nIt is a truth universally acknowledged.\n"
BOTH_MARKERS = (
    "The Project Gutenberg eBook of Tiny Book\n\nThis eBook is for the use of anyone anywhere.\n\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK TINY BOOK ***\n\n\n" + BODY +
    "\n\n*** END OF THE PROJECT GUTENBERG EBOOK TINY BOOK ***\n\n"
    "Updated editions will replace the previous one.\n"
)


def make_text(n_lines: int = 150, seed: int = 0) -> str:
    """Play-like text: speaker lines and verse lines drawn from a small vocabulary."""
    rng = random.Random(seed)
    lines = []
    for i in range(n_lines):
        if i % 4 == 0:
            lines.append(rng.choice(["KING:", "QUEEN:", "HAMLET:"]))
        else:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9)))
            lines.append(words.capitalize() + rng.choice(".,;!?"))
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
    # send the body a byte at a time, one every `drip` seconds (a server too slow to wait for)
    drip: float = 0.0
    hits: int = 0


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 serving fixed routes; started and stopped by the test."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.release = threading.Event()  # set at shutdown: stalled and dripping responses end then
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = server.routes.get(self.path, Route(b"not found", 404))
                route.hits += 1
                if route.hits <= route.fail_first:
                    self.send_error(503, "Service Unavailable")
                    return
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client went away
                    server.send_body(self, route)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def send_body(self, handler: BaseHTTPRequestHandler, route: Route) -> None:
        body = route.body[: len(route.body) // 2] if route.cut else route.body
        if route.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(f"{len(route.body):x}\r\n".encode() + body)
            if not route.cut:
                handler.wfile.write(b"\r\n0\r\n\r\n")
            return
        handler.send_header("Content-Length", str(len(route.body)))
        handler.end_headers()
        if route.stall:
            self.release.wait()
        if route.drip:
            for i in range(len(body)):
                if self.release.wait(route.drip):  # the pace of a slow server, until the test ends
                    return
                handler.wfile.write(body[i : i + 1])
                handler.wfile.flush()
            return
        handler.wfile.write(body)

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
    "corpus.sha256": "", "model.maxlen": 16, "model.embed_dim": 8, "model.hidden_size": 16,
    "model.num_layers": 1,
    "train.step": 3, "train.batch_size": 64, "train.max_epochs": 2, "train.max_time": None,
    "train.val_check_interval": 1.0, "train.precision": "32-true",  # the same arithmetic on every CPU
    "train.objective": "last", "train.carry_state": 0.0, "train.schedule": "constant", "sample.length": 120,
}


def ddp(processes: int) -> dict[str, object]:
    """Params for training in `processes` CPU processes under Lightning's DDP (gloo), one torch thread
    each."""
    if processes == 1:
        return {}
    return {"train.devices": processes, "train.strategy": "ddp", "train.accelerator": "cpu",
            "train.threads": 1}


def tiny(name: str, **overrides: Any) -> Any:
    """One checked params section of the tiny configuration, e.g. tiny("train", lr=0.5)."""
    return config.section(project_params({**TINY, **{f"{name}.{k}": v for k, v in overrides.items()}}), name)


BASE = project_params({})
KEYS = ["seed"] + [f"{name}.{f.name}" for name, cls in params.SECTIONS.items()
                   for f in dataclasses.fields(cls)]


def value_of(values: dict, key: str) -> object:
    section, _, leaf = key.rpartition(".")
    return (values[section] if section else values)[leaf]


NUMERIC = [key for key in KEYS if type(value_of(BASE, key)) in (int, float)]  # bool is no number here


def check_value(key: str, value: object) -> None:
    """The section holding `key` = `value` is accepted, or refused with one line that names the key."""
    section, _, leaf = key.rpartition(".")
    values = copy.deepcopy(BASE)
    (values[section] if section else values)[leaf] = value
    try:
        config.section(values, section or "seed")
    except CharlmError as e:
        message = str(e)
        assert "\n" not in message
        assert key in message or (section == "train" and "train." in message), message


def corpus(source: str | list[str], **overrides: Any) -> params.CorpusParams:
    """The project's corpus section with another source (and overrides), for calling `download` directly."""
    return tiny("corpus", source=source, **overrides)


def prepare_text(text: str, out: Path, val_fraction: float = 0.1, test_fraction: float = 0.1) -> Path:
    """`out` holding the prepared data of `text`, made as the prepare stage makes it."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "corpus.txt").write_text(text, encoding="utf-8")
    prepare(out / "corpus.txt", out, val_fraction, test_fraction)
    return out


@pytest.fixture
def prepared_dir(tmp_path: Path, tiny_text: str) -> Path:
    return prepare_text(tiny_text, tmp_path / "prepared")


@pytest.fixture(scope="session", autouse=True)
def compiled_step() -> None:
    """numba compiles the generation kernel once (~15 s) into charlm/__pycache__; `copy_project` copies that
    cache with the sources (mtimes kept, so numba accepts it), as in a checkout that has sampled before."""
    from charlm import LitCharRNN
    from charlm.generate import generate

    generate(LitCharRNN(3, embed_dim=2, hidden_size=2, vocab=["a", "b", "c"]), [0], [1.0, 0.0], 1, top_k=2)


def run_stage(name: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m stages.<name>` as DVC runs it, from `cwd`, with this checkout's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def run_here(name: str, cwd: Path) -> tuple[int, str]:
    """`python -m stages.<name>` run in this process (the same module as __main__, the same files, no
    interpreter start-up: torch and Lightning are imported once per test session): exit code and stderr."""
    err = io.StringIO()
    before = os.getcwd()
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


def repro(repo: Path, *args: str) -> set[str]:
    """`dvc repro [args]`; returns the stages that ran their command."""
    out = sh(repo, *DVC, "repro", *args)
    return set(re.findall(r"Running stage '(\w+)'", out))


GOOD = {"corpus.source": "data/books/corpus.txt", **TINY}  # a small book of the stage tests


def run_all(root: Path) -> Path:
    """`root` with every stage run once, successfully, on a small corpus (GOOD)."""
    (root / "data/books").mkdir(parents=True, exist_ok=True)
    (root / "data/books/corpus.txt").write_text(make_text(200))
    write_params(root, GOOD)
    for stage in STAGES:
        code, err = run_here(stage, root)
        assert code == 0, err
    return root


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every output file the stages write."""
    files = [p for d in ("data", "models", "metrics", "plots", "dvclive") for p in (root / d).rglob("*")
             if p.is_file()]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def one_error_line(stderr: str, message: str) -> bool:
    """Whether `stderr` is exactly one line, `error: ...` containing `message`, and no traceback."""
    lines = stderr.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def fetch(cfg: params.CorpusParams, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """download() into tmp_path/raw/corpus.txt, local books read from tmp_path: the text it wrote and
    its provenance; no temp file is left."""
    from charlm.corpus import download

    out = tmp_path / "raw"
    provenance = download(cfg, out / "corpus.txt", books=tmp_path)
    assert [p.name for p in out.iterdir()] == ["corpus.txt"]
    return (out / "corpus.txt").read_bytes().decode("utf-8"), provenance


def refused(cfg: params.CorpusParams, tmp_path: Path, message: str, books: Path | None = None) -> str:
    """download() into tmp_path/raw raises a CharlmError matching `message` (its text is returned), and
    the folder is as it was: no temp file, an earlier corpus.txt untouched."""
    from charlm.corpus import download
    from charlm.errors import CharlmError

    out = tmp_path / "raw"
    before = {p.name: p.read_bytes() for p in out.iterdir()} if out.exists() else {}
    with pytest.raises(CharlmError, match=message) as error:
        download(cfg, out / "corpus.txt", books=books or tmp_path)
    assert ({p.name: p.read_bytes() for p in out.iterdir()} if out.exists() else {}) == before
    return str(error.value)


def train_tiny(prepared: Path, out: Path, seed: int = 1, log: bool = False, clock: Any = None,
               **overrides: Any) -> tuple[Path, dict[str, Any]]:
    """fit() as the train stage calls it: a fresh run folder in `out`, the tiny model; (best.ckpt,
    metrics)."""
    import time

    from dvclive.lightning import DVCLiveLogger

    from charlm.rundir import RunDir
    from charlm.training import fit

    def logger(resumed: bool) -> DVCLiveLogger:
        return DVCLiveLogger(dir=str(out / "dvclive"), dvcyaml=False, save_dvc_exp=False, resume=resumed)

    run = RunDir(out / "run", log_dir=out / "dvclive" if log else None)
    result = fit(tiny("model"), tiny("train", **overrides), seed, prepared, run,
                 logger=logger if log else None, progress=False, clock=clock or time.monotonic)
    assert result is not None
    return result


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained run: prepared/, run/checkpoints/best.ckpt, dvclive/ with curves and samples."""
    root = tmp_path_factory.mktemp("trained")
    train_tiny(prepare_text(make_text(300), root / "prepared"), root, log=True, preview_chars=60)
    return root


@pytest.fixture(scope="session")
def explorer_page(trained_run: Path) -> Iterator[str]:
    """`charlm explore` of the tiny trained run, served on loopback: its address."""
    from charlm.explore import serve

    blocks = serve(trained_run / "run/checkpoints/best.ckpt", None, trained_run / "prepared",
                   trained_run / "dvclive", block=False)
    try:
        yield blocks.local_url
    finally:
        blocks.close()


def save_checkpoint(model: Any, path: Path) -> Path:
    """A checkpoint of `model` as the train stage's holds it (weights, hyperparameters, vocabulary)."""
    import torch

    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
                "vocab": model.vocab}, path)
    return path
