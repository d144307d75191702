"""docs/troubleshooting.md, executed: every message its tables list is provoked here with the real code,
and must read as documented.

The tables are the users' list of what charlm can say (`...` and upper-case words such as PATH or N mark
the parts that vary). A message that is reworded in the code, or documented but no longer said, fails
here under its own test id, and a message added to the doc needs a trigger in TRIGGERS: the docs and
the code cannot drift apart. A documented message reads as the start of the message users see (the
remedy after it may go unquoted); one that starts with `...`, or an "(or ...)" variant, anywhere in it.
"""

from __future__ import annotations

import errno
import io
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
import yaml
from lightning.pytorch.utilities.exceptions import SIGTERMException

import charlm.text.prepare as prepare_module
import charlm.train.trainer as trainer_module
from bench.project import ROOT, project_params, write_params
from charlm import params
from charlm.app.cli import main as charlm_main
from charlm.app.explorer import Explorer
from charlm.app.guard import refusal
from charlm.app.turns import refused_turn
from charlm.errors import CharlmError, cli
from charlm.evaluate.adapt import Reading, adapt
from charlm.evaluate.dynamic import Rule
from charlm.files import atomic_write
from charlm.model.checkpoint import load_checkpoint
from charlm.model.checkpoint import save as save_checkpoint
from charlm.model.lstm import LitCharRNN
from charlm.model.transplant import check_shape, starting_point, transplant
from charlm.text.prepare import prepare
from charlm.text.splits import load_split, load_vocab
from charlm.train.batches import CharDataModule
from charlm.train.fit import check_data, check_interval, check_size, fit
from charlm.train.rundir import RunDir
from charlm.train.trainer import make_trainer, quiet_lightning
from tests.helpers.config import corpus, tiny
from tests.helpers.download import refused
from tests.helpers.server import LoopbackServer, Route, serve
from tests.helpers.stages import run_here

DOC = ROOT / "docs/troubleshooting.md"

# What varies in a documented message: `...`, and these words (`L+1`: one more than L)
VARYING = re.compile(r"\.\.\.|\b(?:KEY|VALUE|PATH|URL|PORT|N|M|X|Y|S|E|B|L|C|F|G|V|W|CODE|REASON|SOURCE|FILE"
                     r"|ENCODING|TARGET|CHECKPOINT|DATA)\b(?:\+1)?")
SPAN = re.compile(r"(?<!`)(`+)(.+?)(?<!`)\1(?!`)")  # a Markdown code span
FIRST_CELL = re.compile(r"^\|((?:``.*?``|`[^`]*`|[^|`])*)\|")


@dataclass(frozen=True)
class Documented:
    """One message of a table's first column: `variant` if it stands in an "(or ...)"."""

    message: str
    variant: bool
    line: int

    @property
    def pattern(self) -> re.Pattern[str]:
        return pattern(self.message, fragment=self.variant)


def pattern(message: str, fragment: bool = False) -> re.Pattern[str]:
    """The documented `message` as a regex: what varies -> `.+?`, the rest literal; it matches from the
    start of what users see unless it is a fragment or starts with `...` (`search` it)."""
    anywhere = fragment or message.startswith("...")
    body = message.removeprefix("...").removesuffix("...").strip()
    literal = [re.escape(piece) for piece in VARYING.split(body)]
    return re.compile(("" if anywhere else "^") + ".+?".join(literal))


def cell_messages(cell: str) -> Iterator[tuple[str, bool]]:
    """The code spans of a first cell, and whether each is an "(or ...)" variant."""
    variant = False
    end = 0
    for span in SPAN.finditer(cell):
        between = cell[end : span.start()]
        if "(or" in between:
            variant = True
        elif ")" in between:
            variant = False
        end = span.end()
        yield span.group(2).strip(), variant


def documented() -> list[Documented]:
    """Every message of every `| message | cause | fix |` table, but the row that is no error."""
    found = []
    in_table = False
    for number, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("| message |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and (cell := FIRST_CELL.match(line)) and not re.search(r"^-+$|not an error", cell[1]):
            found += [Documented(m, variant, number) for m, variant in cell_messages(cell[1])]
    return found


DOCUMENTED = documented()


# ---- what the triggers share ----

@dataclass
class Scene:
    """What a trigger works with: it runs in an empty temporary folder (as a stage runs in the repository
    root), may patch with `monkeypatch`, and may ask for fixtures."""

    request: pytest.FixtureRequest
    monkeypatch: pytest.MonkeyPatch
    server: LoopbackServer

    def url(self, route: Route) -> str:
        """The address of `route` on the loopback server."""
        path = f"/{len(self.server.routes)}.txt"
        self.server.routes[path] = route
        return self.server.url(path)

    def prepared(self) -> Path:
        """Prepared data of a small text (the `prepared_dir` fixture)."""
        return self.request.getfixturevalue("prepared_dir")


Trigger = Callable[[Scene], str]


def raised(call: Callable[[], object]) -> str:
    """The message of the CharlmError `call` raises."""
    with pytest.raises(CharlmError) as error:
        call()
    return str(error.value)


def error_line(stderr: str) -> str:
    """The one `error: ` line of an entry point's stderr, without `error: `."""
    lines = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, stderr
    return lines[0].removeprefix("error: ")


def printed(main: Callable[[], object]) -> str:
    """The error line an entry point prints as it exits."""
    err = io.StringIO()
    with redirect_stderr(err), pytest.raises(SystemExit):
        main()
    return error_line(err.getvalue())


def stage_error(stage: str) -> str:
    """`python -m stages.<stage>` with the project's params.yaml, in this process: its error line."""
    write_params(Path.cwd(), {})
    code, err = run_here(stage, Path.cwd())
    assert code == 1, err
    return error_line(err)


def params_error(section: str, content: str | bytes | dict[str, Any] | None) -> str:
    """params.load(section) of params.yaml holding `content` (a dict is written as YAML; None: no file)."""
    path = Path("params.yaml")
    if isinstance(content, dict):
        content = yaml.safe_dump(content, sort_keys=False)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        path.write_bytes(content)
    return raised(lambda: params.load(section))


def without(section: str, key: str) -> dict[str, Any]:
    values = project_params({})
    del values[section][key]
    return values


BOOKS = Path("data/books")


def put(name: str, content: str | bytes = "Once upon a time.\n") -> Path:
    """A file written, its folders made."""
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def book(name: str, content: str | bytes = "Once upon a time.\n") -> str:
    """A file in data/books/, as corpus.source names it."""
    return str(put(f"{BOOKS}/{name}", content))


def download_error(source: str | list[str], **overrides: Any) -> str:
    """download() of `source` refused (data/books/ the books folder), leaving no file behind."""
    BOOKS.mkdir(parents=True, exist_ok=True)
    return refused(corpus(source, **overrides), Path.cwd(), ".*", books=BOOKS)


def web_error(s: Scene, route: Route, **overrides: Any) -> str:
    """download() of a URL the loopback server answers with `route`, refused; no retry unless asked."""
    return download_error(s.url(route), **{"retries": 0, **overrides})


VOCAB = list("\n :;,.!?'abcdefghijklmnopqrstuvwxyzAEGHIKLNQU")


def checkpoint(vocab: list[str] = VOCAB, path: str = "models/best.ckpt") -> Path:
    """A tiny untrained model saved as the train stage saves one."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return save_checkpoint(LitCharRNN(len(vocab), embed_dim=4, hidden_size=8, vocab=vocab), Path(path))


def charlm(*argv: str) -> str:
    """`charlm ARGV` in this process: its error line."""
    return printed(lambda: charlm_main(list(argv)))


def adapt_too_large(s: Scene) -> str:
    s.monkeypatch.setattr("charlm.app.cli.MAX_ADAPT_BYTES", 10)
    return generate_error("--adapt", str(put("a.txt", "a" * 11)))


def generate_error(*args: str) -> str:
    return charlm("generate", "--checkpoint", str(checkpoint()), *args)


def explore_error(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")  # `charlm explore` sets it: put it back after
    return charlm("explore", "--checkpoint", str(checkpoint(list("abc"))), "--live", "dvclive", *args)


def failing(code: int) -> Callable[..., None]:
    """A system call that fails as the kernel's does with `code` (ENOSPC: a full disk, EACCES: read-only)."""
    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError(code, os.strerror(code), str(args[0] if args else kwargs.get("dir")))

    return fail


# ---- triggers that take more than a line ----

def redirect_loop(s: Scene) -> str:
    s.server.routes["/loop.txt"] = Route(b"", 302, headers={"Location": "/loop.txt"})
    return download_error(s.server.url("/loop.txt"), retries=0)


def no_module_stages(s: Scene) -> str:
    """`python -m stages.train` outside the repository root: Python's own message."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-m", "stages.train"], capture_output=True, text=True, env=env,
                            timeout=60)
    return result.stderr.strip().splitlines()[-1].split("ModuleNotFoundError: ")[-1].removesuffix(")")


def books_folder_a_link(s: Scene) -> str:
    Path("shelf").mkdir()
    Path("data").mkdir()
    BOOKS.symlink_to(Path("shelf").resolve())
    return download_error("data/books/s.txt")


def link_out_of_books(s: Scene) -> str:
    Path("secret.txt").write_text("private\n")
    BOOKS.mkdir(parents=True)
    (BOOKS / "p.txt").symlink_to(Path("secret.txt").resolve())
    return download_error("data/books/p.txt")


def weights_folder() -> Path:
    """data/weights/, made: the folder train.init_from's checkpoints lie in."""
    Path("data/weights").mkdir(parents=True, exist_ok=True)
    return Path("data/weights")


def a_pipe(s: Scene) -> str:
    BOOKS.mkdir(parents=True)
    os.mkfifo(BOOKS / "pipe")
    return download_error("data/books/pipe")


def corpus_changed_while_read(s: Scene) -> str:
    """The corpus shrinks between prepare's two passes (count, then encode)."""
    count_chars = prepare_module.count_chars

    def count_then_shrink(path: Path) -> Any:
        counted = count_chars(path)
        path.write_text("ab\n", encoding="utf-8")
        return counted

    s.monkeypatch.setattr(prepare_module, "count_chars", count_then_shrink)
    corpus_txt = put("data/raw/corpus.txt", "ab\n" * 100)
    return raised(lambda: prepare(corpus_txt, Path("data/prepared"), 0.1, 0.1))


def split_shorter_than_a_window(s: Scene) -> str:
    data = s.prepared()
    return raised(lambda: check_data(data, maxlen=len(load_split(data, "train"))))


def split_shorter_than_a_block(s: Scene) -> str:
    prepare(put("data/raw/corpus.txt", "To be, or not to be, that is the question.\n" * 8),
            Path("data/prepared"), 0.05, 0.1)
    return raised(lambda: check_data(Path("data/prepared"), maxlen=4))


def codes_beyond_the_vocabulary(s: Scene) -> str:
    data = s.prepared()
    (data / "vocab.json").write_text('{"idx2char": ["a", "b"]}', encoding="utf-8")
    return raised(lambda: check_data(data, maxlen=4))


def damaged_prepared(name: str, content: bytes | np.ndarray) -> str:
    path = Path("data/prepared") / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, np.ndarray):
        np.save(path, content)
    else:
        path.write_bytes(content)
    if name == "vocab.json":
        return raised(lambda: load_vocab(path.parent))
    return raised(lambda: load_split(path.parent, "train"))


def too_few_windows(s: Scene) -> str:
    data = CharDataModule(s.prepared(), tiny("model"), tiny("train"), seed=1)
    return raised(lambda: data.batches_per_epoch(world=10**6))


def no_bf16(s: Scene, accelerator: str) -> str:
    s.monkeypatch.setattr(trainer_module, "cpu_has_bf16", lambda: False)  # this machine may have bfloat16
    s.monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: False)
    cfg = tiny("train", precision="bf16-mixed", accelerator=accelerator)
    return raised(lambda: trainer_module.precision(cfg))


def trainer_error(s: Scene, **train: Any) -> str:
    for name in ("SLURM_NTASKS", "TORCHELASTIC_RUN_ID"):  # no launcher
        s.monkeypatch.delenv(name, raising=False)
    with quiet_lightning():
        return raised(lambda: make_trainer(tiny("train", **train), [], progress=False))


def diverged(s: Scene, step: str, bias: list[float]) -> str:
    """A training or validation step of a model whose logits are `bias`, target 1 (its loss not finite)."""
    model = LitCharRNN(3, embed_dim=2, hidden_size=2, vocab=list("abc"))
    with quiet_lightning():
        model.trainer = L.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                                  enable_progress_bar=False, enable_model_summary=False)
    model.trainer.fit_loop.epoch_loop.batch_progress.increment_ready()  # the loop has fetched batch 1
    with torch.no_grad():
        model.head.out.weight.zero_()
        model.head.out.bias.copy_(torch.tensor(bias))
    batch = (torch.zeros(1, 4, dtype=torch.long), torch.tensor([1]))
    return raised(lambda: getattr(model, f"{step}_step")(batch, 0))


def dynamic_diverged(s: Scene) -> str:
    """The search of a model whose every learning rate leaves a non-finite loss on the validation text."""
    from charlm.evaluate.dynamic import lstm_reader
    from charlm.evaluate.search import choose

    model = LitCharRNN(3, embed_dim=2, hidden_size=2, vocab=list("abc"))
    with torch.no_grad():
        model.head.out.bias.copy_(torch.tensor([0.0, float("nan"), 0.0]))
    cfg = params.EvaluateParams(rule="rms", lrs=[0.1, 0.2], decay=0.0, segment=4, search_chars=100)
    return raised(lambda: choose(lstm_reader(model), torch.randint(0, 3, (100,)), cfg))


def sigterm(s: Scene) -> str:
    """fit() as the train stage calls it, when Lightning stops on SIGTERM (the exception it raises then)."""
    def stopped(*args: Any, **kwargs: Any) -> None:
        raise SIGTERMException

    s.monkeypatch.setattr(L.Trainer, "fit", stopped)
    run = RunDir(Path("models/run"))
    return raised(lambda: fit(tiny("model"), tiny("train"), 1, s.prepared(), run, progress=False))


def run_folder_a_link(s: Scene) -> str:
    Path("elsewhere").mkdir()
    Path("models").mkdir()
    Path("models/run").symlink_to(Path("elsewhere").resolve())
    return raised(lambda: RunDir(Path("models/run")).start({}, LitCharRNN(3)))


def stdout_closed(s: Scene) -> str:
    with redirect_stdout(None):  # `charlm generate >&-`
        return generate_error()


def port_taken(s: Scene) -> str:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        return explore_error(s.monkeypatch, "--port", str(taken.getsockname()[1]))


def interrupted(s: Scene) -> str:
    """SIGTERM (or Ctrl-C) reaching an entry point: the signal sent to this process while `cli` runs its
    main (the handlers it installs are put back afterwards)."""
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return printed(lambda: cli(lambda: os.kill(os.getpid(), signal.SIGTERM)))
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def books_folder_missing(s: Scene) -> str:
    """A local book named while data/books/ does not exist (download_error would make the folder)."""
    return refused(corpus("data/books/a.txt"), Path.cwd(), ".*", books=BOOKS)


def adapt_metrics(s: Scene, content: str) -> str:
    """`charlm generate --adapt` with the pipeline's model and metrics/evaluate.json holding `content`."""
    write_params(Path.cwd(), {})
    put("metrics/evaluate.json", content)
    return generate_error("--adapt", str(put("a.txt", "once upon a time\n")))


def page(data: Path | None = None) -> Explorer:
    """What `charlm explore`'s page calls for each panel, over a tiny untrained model."""
    return Explorer(load_checkpoint(checkpoint()), data)


def request_refused(path: str = "/", method: str = "GET", **headers: str) -> str:
    """What `charlm explore`'s server answers a request it refuses (an ASGI scope, as Gradio's server
    hands it on)."""
    headers = {"host": "127.0.0.1:7860", **headers}
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    refused_with = refusal({"type": "http", "path": path, "method": method, "headers": raw})
    assert refused_with is not None
    return refused_with[1]


def report_error(s: Scene, experiments: list[dict[str, Any]]) -> str:
    """tools.report, with DVC answering `experiments` to exp_show."""
    import dvc.api

    from tools.report import experiments as table

    s.monkeypatch.setattr(dvc.api, "exp_show", lambda **kwargs: experiments)
    return raised(table)


def disk_error(s: Scene, code: int) -> str:
    """An output written on a full disk (its write fails) or in a read-only folder (its temp file cannot be
    made): the system calls fail as the kernel's would, since root ignores a folder's mode."""
    Path("metrics").mkdir()
    if code == errno.ENOSPC:
        s.monkeypatch.setattr(Path, "write_bytes", failing(code))
    else:
        s.monkeypatch.setattr(tempfile, "mkstemp", failing(code))
    return raised(lambda: atomic_write(Path("metrics/train.json"), "{}\n"))


def run_folder_unwritable(s: Scene, code: int) -> str:
    """The train stage's run folder made where the disk is full or the folder read-only: Python's own
    OSError, as the entry point prints it."""
    s.monkeypatch.setattr(os, "mkdir", failing(code))
    return printed(lambda: cli(lambda: RunDir(Path("models/run")).start({}, LitCharRNN(3))))


PROJECT = (ROOT / "params.yaml").read_text(encoding="utf-8")
GUTENBERG_ONLY = ("*** START OF THE PROJECT GUTENBERG EBOOK TINY ***\n\n"
                  "*** END OF THE PROJECT GUTENBERG EBOOK TINY ***\n")

# Each documented message (as the doc spells it, in its order) -> what provokes it, returning what is said
TRIGGERS: dict[str, Trigger] = {
    # after a failure
    "interrupted": interrupted,

    # params.yaml
    "params.yaml: KEY=VALUE is invalid; expected ...":
        lambda s: params_error("train", project_params({"train.lr": -1})),
    "params.yaml: sample.temperatures=[...] is invalid; expected 1 to 100 numbers from 0 (greedy)"
    " to 100 that differ in their first 6 digits":
        lambda s: params_error("sample", project_params({"sample.temperatures": [0.5, 0.5000001]})),
    "params.yaml: unknown key 'train.learnin_rate'; train has ...":
        lambda s: params_error("train", project_params({"train.learnin_rate": 0.01})),
    "params.yaml: unknown section 'foo'; params.yaml has seed, corpus, prepare, model, train, evaluate,"
    " sample, plot":
        lambda s: params_error("seed", PROJECT + "foo:\n  bar: 1\n"),
    "params.yaml is not valid YAML: key 'lr' appears twice at line L, column C":
        lambda s: params_error("train", "train:\n  lr: 0.01\n  lr: 0.02\n"),
    "params.yaml is not valid YAML: a key must be a plain word, not a list at line L, column C":
        lambda s: params_error("train", "? [a, b]\n: 1\n"),
    "params.yaml is not valid YAML: aliases (*name) are not allowed in params.yaml at line L, column C":
        lambda s: params_error("sample", "x: &a [1, 1]\nsample:\n  temperatures: *a\n"),
    "params.yaml: missing key 'model.maxlen'": lambda s: params_error("model", without("model", "maxlen")),
    "params.yaml: 'train' must be a mapping of keys, got ...": lambda s: params_error("train", "train: 3\n"),
    "params.yaml must be a mapping of sections": lambda s: params_error("seed", "- seed\n- 1\n"),
    "params.yaml is not valid YAML: ... at line L, column C": lambda s: params_error("seed", "seed: [1\n"),
    "... found character '\\t' that cannot start any token ... (indent with spaces: YAML does not allow"
    " tabs)":
        lambda s: params_error("corpus", "corpus:\n\tsource: x\n"),
    "params.yaml is not UTF-8 text (byte 0xe9 at position N): save it as UTF-8":
        lambda s: params_error("seed", "seed: 1 # café\n".encode("latin-1")),
    "params.yaml not found: run from the repository root": lambda s: params_error("seed", None),
    "No module named 'stages'": no_module_stages,
    "prepare.val_fraction + prepare.test_fraction is X: it must leave some text to train on (below 1)":
        lambda s: params_error("prepare", project_params({"prepare.val_fraction": 0.5,
                                                          "prepare.test_fraction": 0.5})),
    "train.carry_state=X trains on every position of consecutive windows: set train.objective=every":
        lambda s: params_error("train", project_params({"train.carry_state": 0.5,
                                                        "train.objective": "last"})),
    "train.decay_patience=N must be below train.patience=M, or early stopping ends the run before the decay"
    " starts":
        lambda s: params_error("train", project_params({"train.schedule": "wsd", "train.decay_start": None,
                                                        "train.decay_patience": 4, "train.patience": 4})),
    "count x length x temperatures is N characters, over 100,000,000: lower sample.count, sample.length or"
    " sample.temperatures":
        lambda s: params_error("sample", project_params({"sample.count": 10**4, "sample.length": 10**6})),
    "corpus.sha256 has N pins for M sources":
        lambda s: download_error([book("a.txt"), book("b.txt", "Twice upon a time.\n")], sha256=[""]),

    # download
    "corpus.source '...': a book must lie in data/books/, which dvc.yaml watches (copy or move it"
    " there)": lambda s: download_error(str(put("elsewhere.txt"))),
    "corpus.source '...' (a link to /...): a book must lie in data/books/ ...": link_out_of_books,
    "corpus.source 'data/books/...' is a directory: name a file in it":
        lambda s: download_error(str(put("data/books/shelf/a.txt").parent)),
    "KEY '...' holds a NUL character: name a file in ...": lambda s: download_error("data/books/a\0.txt"),
    "corpus.source '...' does not exist (copy or move it there)":
        lambda s: download_error("data/books/missing.txt"),
    "corpus.source '...' is not a regular file (a device, pipe or socket): name a book": a_pipe,
    "corpus.source lists '...' twice: list each text once": lambda s: download_error([book("a.txt")] * 2),
    "corpus.source lists the same text twice: '...' and '...' have the same bytes; list each text once":
        lambda s: download_error([book("a.txt"), book("copy.txt")]),
    "data/books is a link (to ...): the folder data/books/ must be a real folder, not a link, so that"
    " nothing outside it is read": books_folder_a_link,
    "the folder data/books/ does not exist: create it and put the book in it": books_folder_missing,
    "corpus.source '...': a Gutenberg id is a number, e.g. gutenberg:1342":
        lambda s: download_error("gutenberg:pride"),
    "corpus.source '...': only http:// and https:// URLs or local paths are supported":
        lambda s: download_error("ftp://example.org/book.txt"),
    "'...' is not a valid URL (...)": lambda s: download_error("http://127.0.0.1:port/x.txt"),
    "'...' is not an http(s) URL with a host": lambda s: download_error("http:///x.txt"),
    "'...': '...' is not a valid host name": lambda s: download_error("http://exa mple.org/x.txt"),
    "URL redirects to TARGET: only http(s) addresses are followed":
        lambda s: web_error(s, Route(b"", 302, headers={"Location": "ftp://example.org/book.txt"})),
    "URL redirects to '...', which is not a valid URL (...)":
        lambda s: web_error(s, Route(b"", 302, headers={"Location": "http://[::1/x"})),
    "URL: HTTP 302 redirects in a loop (or without a Location)": redirect_loop,
    "HTTP 404 Not Found for URL: Project Gutenberg book N does not exist there":
        lambda s: download_error("gutenberg:1342", gutenberg_url=s.server.url("/ebooks/{id}.txt"), retries=0),
    "HTTP CODE REASON for URL": lambda s: web_error(s, Route(b"members only", 403)),
    "timed out after S s waiting for URL": lambda s: web_error(s, Route(b"text", stall=True), timeout=0.3),
    "cannot reach URL: ... (offline? use a local file in data/books/ as corpus.source)":
        lambda s: download_error("http://127.0.0.1:9/nothing.txt", timeout=2, retries=0),
    "URL took over corpus.max_seconds=S s (N bytes so far): the server is too slow; raise corpus.max_seconds"
    " or try later": lambda s: web_error(s, Route(b"x" * 20_000, drip=0.05), timeout=5, max_seconds=0.3),
    "URL: no complete answer within corpus.max_seconds=S s":
        lambda s: web_error(s, Route(b"busy", fail_first=99), retries=3, max_seconds=0.3),
    "URL ended after N of M bytes (the connection was cut); raise corpus.retries or try again later":
        lambda s: web_error(s, Route(b"To be, or not to be\n" * 500, cut=True)),
    "URL ended before the end of its chunked body ...":
        lambda s: web_error(s, Route(b"To be, or not to be\n" * 500, cut=True, chunked=True)),
    "URL returned an HTML page, not plain text (an error page, or the wrong address?)":
        lambda s: web_error(s, Route(b"<html>oops</html>", headers={"Content-Type": "text/html"})),
    "FILE is an HTML page, not plain text ...":
        lambda s: download_error(book("saved.txt", "<!DOCTYPE html>\n<html><body>A book</body></html>\n")),
    "URL is N bytes, over corpus.max_bytes=M": lambda s: web_error(s, Route(b"x" * 5000), max_bytes=1000),
    "... is over corpus.max_bytes=M bytes":
        lambda s: web_error(s, Route(b"x" * 5000, chunked=True), max_bytes=1000),  # no Content-Length
    "sha256 of SOURCE is ..., but corpus.sha256 pins ...":
        lambda s: download_error(book("a.txt"), sha256="0" * 64),
    "SOURCE is gzip-compressed, not plain text: decompress it first":
        lambda s: download_error(book("a.txt.gz", b"\x1f\x8b\x08\x00" + bytes(100))),
    "SOURCE looks like a binary file, not text":
        lambda s: download_error(book("a.bin", bytes(range(256)) * 8)),
    "SOURCE is not valid ENCODING (...)":  # UTF-16 by its byte-order mark, cut in a character
        lambda s: download_error(book("a.txt", b"\xff\xfe" + "Once".encode("utf-16-le") + b"\x00\xd8")),
    "SOURCE holds no text": lambda s: download_error(book("empty.txt", "")),
    "... holds no text after removing the Gutenberg header and footer":
        lambda s: download_error(book("markers.txt", GUTENBERG_ONLY), strip_gutenberg=True),

    # prepare and train
    "data/raw/corpus.txt not found: run the download stage first (dvc repro download)":
        lambda s: stage_error("prepare"),
    "the corpus has N characters; with val_fraction=F and test_fraction=G it needs at least M (two characters"
    " in each split)":
        lambda s: raised(lambda: prepare(put("data/raw/corpus.txt", "too short\n"), Path("out"), 0.05, 0.1)),
    "the training split has N characters; model.maxlen=L needs at least L+1 (a window and its target):"
    " lower model.maxlen or use a longer corpus": split_shorter_than_a_window,
    "the validation split has N characters; scoring needs at least 41 (a block of 40 and its target): use a"
    " longer corpus": split_shorter_than_a_block,
    "train.init_from 'PATH': a starting checkpoint must lie in data/weights/, which dvc.yaml watches (e.g. cp"
    " models/best.ckpt data/weights/shakespeare.ckpt)":
        lambda s: raised(lambda: starting_point(str(checkpoint()), weights_folder())),
    "train.init_from 'PATH' does not exist (e.g. cp models/best.ckpt data/weights/shakespeare.ckpt)":
        lambda s: raised(lambda: starting_point("data/weights/x.ckpt", weights_folder())),
    "the folder data/weights/ does not exist: create it and put the starting checkpoint in it":
        lambda s: raised(lambda: starting_point("data/weights/x.ckpt", Path("data/weights"))),
    "train.init_from PATH has KEY=N but params.yaml's model has KEY=M: set model.KEY (and the others) to the"
    " checkpoint's": lambda s: raised(lambda: check_shape(load_checkpoint(checkpoint()),
                                                          tiny("model", embed_dim=99), "w.ckpt")),
    "the vocabulary would have N characters (M of them the starting model's), more than a model may have"
    " (65,536): ...": lambda s: raised(lambda: prepare(put("c.txt", "ab\n" * 50), Path("out"), 0.1, 0.1,
                                                       extra=[chr(0x4E00 + i) for i in range(65_536)])),
    "the prepared vocabulary lacks N of the starting model's characters (e.g. ...): rerun the prepare stage"
    " (dvc repro -f prepare)": lambda s: raised(lambda: transplant(LitCharRNN(1, vocab=["a"]), ["a"],
                                                                  load_checkpoint(checkpoint(list("abc"))),
                                                                  torch.tensor([0]))),
    "data/prepared/vocab.json not found: run the prepare stage first (dvc repro prepare)":
        lambda s: raised(lambda: load_vocab(Path("data/prepared"))),
    "train.npy": lambda s: raised(lambda: load_split(Path("data/prepared"), "train")),
    "data/prepared/vocab.json is not a vocabulary (...)":
        lambda s: damaged_prepared("vocab.json", b"garbage"),
    "data/prepared/vocab.json: 'idx2char' is not a list of distinct characters: ...":
        lambda s: damaged_prepared("vocab.json", b'{"idx2char": ["a", "b", "a"]}'),
    "... is not a NumPy array file (...)": lambda s: damaged_prepared("train.npy", b"\x93NUMPY garbage"),
    "... holds no 1-d array of character codes":
        lambda s: damaged_prepared("train.npy", np.zeros((2, 2), dtype=np.uint8)),
    "the training split has character codes up to N but the vocabulary has V characters":
        codes_beyond_the_vocabulary,
    "data/raw/corpus.txt is not UTF-8 text (...): rerun the download stage (dvc repro -f download)":
        lambda s: raised(lambda: prepare(put("data/raw/corpus.txt", b"caf\xe9\n"), Path("out"), 0.1, 0.1)),
    "...train.npy: N of M codes; did the corpus change while being read?": corpus_changed_while_read,
    "the model would have N parameters (X GB to train), more than this machine's Y GB: lower"
    " model.hidden_size, model.embed_dim or model.num_layers":
        lambda s: raised(lambda: check_size(tiny("model", embed_dim=8192, hidden_size=8192, num_layers=32),
                                            vocab_size=65_536)),
    "train.precision=bf16-mixed needs a CPU with AVX-512 BF16 or AMX (...): use 32-true or auto":
        lambda s: no_bf16(s, "cpu"),
    "needs a GPU with bfloat16": lambda s: no_bf16(s, "gpu"),
    "train.accelerator=gpu, train.devices=N: ...":  # no GPU here, or fewer than 64
        lambda s: trainer_error(s, accelerator="gpu", devices=64),
    "N training windows for W processes: use a longer corpus or fewer train.devices": too_few_windows,
    "train.num_nodes=N needs a launcher that starts every node (SLURM's srun, or torchrun --nnodes), but ...:"
    " see docs/scaling.md; on one machine use train.devices": lambda s: trainer_error(s, num_nodes=2),
    "train.val_check_interval=N batches is more than an epoch's M: lower it, or give a share of an epoch"
    " (e.g. 0.25)": lambda s: raised(lambda: check_interval(100, batches=7)),
    "train loss is nan at epoch E, batch B: lower train.lr":
        lambda s: diverged(s, "training", [0.0, float("nan"), 0.0]),
    "inf": lambda s: diverged(s, "training", [0.0, float("-inf"), 0.0]),
    "val loss": lambda s: diverged(s, "validation", [0.0, float("nan"), 0.0]),
    "dynamic evaluation diverged on the validation text (loss nan) with rms lr X: lower evaluate.lrs":
        dynamic_diverged,
    "evaluate.search_chars=N is less than two segments of evaluate.segment=M: ...":
        lambda s: raised(lambda: tiny("evaluate", search_chars=10, segment=50)),
    "terminated (SIGTERM) during training; run `dvc repro` again to resume": sigterm,
    "models/run is a symbolic link: make it a folder (train keeps its resumable state there)":
        run_folder_a_link,

    # sample, plots, charlm generate and charlm explore
    "models/best.ckpt not found: train a model first (dvc repro train, or make run)":
        lambda s: raised(lambda: load_checkpoint("models/best.ckpt")),
    "PATH is a directory, not a checkpoint: name the .ckpt file in it":
        lambda s: raised(lambda: load_checkpoint(checkpoint().parent)),
    "PATH is not a regular file (a device, pipe or socket): name a checkpoint file":
        lambda s: raised(lambda: load_checkpoint("/dev/null")),
    "models/best.ckpt is not a valid charlm checkpoint (...)":
        lambda s: raised(lambda: load_checkpoint(put("models/best.ckpt", b"not a checkpoint"))),
    "CHECKPOINT was trained on another vocabulary than the prepared data in DATA: pass --data with the data"
    " it was trained on": lambda s: explore_error(s.monkeypatch, "--data", str(s.prepared())),
    "models/best.ckpt was trained on a different vocabulary than the prepared data: rerun `dvc repro`":
        lambda s: raised(lambda: load_checkpoint(checkpoint(list("abc")), vocab=list("abd"))),
    "the prompt has characters not in the vocabulary: '...' (remove them, ...)":
        lambda s: generate_error("--prompt", "KING §:"),
    "the prompt is empty": lambda s: generate_error("--prompt", ""),
    "the prompt has no character of the vocabulary left": lambda s: generate_error("--prompt", "§",
                                                                                   "--skip-unknown"),
    "charlm generate: temperatures=[-1.0] is invalid; expected 1 to 100 numbers from 0 (greedy)"
    " to 100": lambda s: generate_error("-t", "-1"),
    "top_k=...": lambda s: generate_error("--top-k", "99999999"),
    "top_p=...": lambda s: generate_error("--top-p", "1.5"),
    "length=...": lambda s: generate_error("--length", "0"),
    "charlm generate: argument --length/-n: 'x' is not a whole number (see charlm generate --help)":
        lambda s: generate_error("--length", "x"),
    "charlm generate: argument --temperature/-t: 'nan' must be finite (see charlm generate --help)":
        lambda s: generate_error("-t", "nan"),
    "charlm explore: argument --port: 'N' must be from 1 to 65535 (see charlm explore --help)":
        lambda s: charlm("explore", "--port", "0"),
    "charlm generate: argument --adapt-seconds: 'S' must be from 1 to 3600 (see charlm generate --help)":
        lambda s: generate_error("--adapt-seconds", "0.5"),
    "charlm generate: standard output is closed: there is nowhere to write the text": stdout_closed,
    "--adapt PATH: no such file (name a UTF-8 text file)": lambda s: generate_error("--adapt", "none.txt"),
    "--adapt PATH is over M bytes: give a part of it": adapt_too_large,
    "--adapt PATH is a directory: name a UTF-8 text file":
        lambda s: generate_error("--adapt", str(put("shelf/a.txt").parent)),
    "--adapt PATH is not a regular file (a device, pipe or socket): name a UTF-8 text file":
        lambda s: generate_error("--adapt", "/dev/null"),
    "--adapt PATH is not UTF-8 text (...)":
        lambda s: generate_error("--adapt", str(put("a.txt", b"caf\xe9"))),
    "--adapt PATH has N characters the model knows: adapting needs at least 4":
        lambda s: generate_error("--adapt", str(put("a.txt", "\u00a7\u00a7\u00a7"))),
    "metrics/evaluate.json has no valid `dynamic` settings: rerun the evaluate stage (dvc repro -f evaluate)":
        lambda s: adapt_metrics(s, '{"dynamic": {"rule": "adam", "lr": 0.001, "segment": 50}}'),
    "metrics/evaluate.json is not the evaluate stage's metrics: rerun it (dvc repro -f evaluate)":
        lambda s: adapt_metrics(s, "garbage"),
    "cannot listen on 127.0.0.1:PORT: ... (pass another --port)": port_taken,
    "no experiments found: run `dvc exp run` first": lambda s: report_error(s, []),
    "no experiment has metrics yet: ...":
        lambda s: report_error(s, [{"Experiment": None, "rev": "workspace", "train.lr": 0.01}]),

    # charlm explore's page
    "nothing written yet: generate a text first": lambda s: raised(lambda: page().sure({})),
    "the adapting was abandoned: whoever asked for it has gone":
        lambda s: raised(lambda: adapt(page().model, torch.arange(100) % 5, 60,
                                       Reading(Rule("rms", 0.001, 0.003), 50, 200), None,
                                       abandoned=lambda: True)),
    "this text was written by the adapted copy, which the page no longer writes with: write it again":
        lambda s: raised(lambda: page().sure({"prompt": "a", "text": "b", "temperature": 1.0, "top_k": 0,
                                              "top_p": 1.0, "seed": 1, "model": "the adapted copy"})),
    "give 1 to 12 temperatures, separated by commas":
        lambda s: raised(lambda: page().sweep("ab", " , ", 1, 10, 0, False)),
    "temperatures must be numbers separated by commas, got '...'":
        lambda s: raised(lambda: page().sweep("ab", "0.5, hot", 1, 10, 0, False)),
    "temperatures=[...] is invalid; expected ...":
        lambda s: raised(lambda: next(page().write("a", -1.0, 0, 1.0, 10, 1, False))),
    "seed must be a whole number (or empty for a random one), got '...'":
        lambda s: raised(lambda: next(page().write("a", 0.8, 0, 1.0, 10, "x", False))),
    "... is N characters: at most M here": lambda s: raised(lambda: page().cell("a" * 10_001, 1, 0)),
    "... must be from X to Y, got ...": lambda s: raised(lambda: page().cell("ab", 1, 99)),
    "the sweep needs the training text's words: pass --data with the prepared data":
        lambda s: raised(lambda: page(data=Path("data/prepared")).sweep("ab", "0.5", 1, 10, 0, False)),
    "give a text to read": lambda s: raised(lambda: page().cell("", 1, 0)),
    "this page has an adapt or a sweep under way already: wait for it to finish, then try again":
        lambda s: refused_turn("a", ["b", "a"]),
    "the page is busy with N adapts and sweeps from other pages: try again in a minute":
        lambda s: refused_turn("e", ["a", "b", "c", "d"]),
    "the text has N characters the model knows: adapting needs at least 4":
        lambda s: raised(lambda: page().adapt("\u00a7\u00a7\u00a7", 1, "a", 0.8, 1)),
    "... must be a text, got ...": lambda s: raised(lambda: page().cell(3, 1, 0)),  # an API client's number
    "a written text is a record of ...": lambda s: raised(lambda: page().sure({"text": "a"})),
    "charlm explore answers requests to 127.0.0.1 or localhost only":
        lambda s: request_refused(host="charlm.attacker.example"),
    "charlm explore answers its own page only": lambda s: request_refused(origin="http://attacker.example"),
    "charlm explore takes no uploads": lambda s: request_refused("/gradio_api/upload", "POST",
                                                                 content_length="10"),
    "a request body needs a Content-Length": lambda s: request_refused("/", "POST"),
    "a request body is limited to N bytes": lambda s: request_refused("/", "POST", content_length=str(10**9)),

    # disk and folders
    "cannot write PATH: No space left on device (free some space and run again); the previous outputs are"
    " unchanged": lambda s: disk_error(s, errno.ENOSPC),
    "cannot write PATH: Permission denied (make the folder writable and run again); the previous outputs are"
    " unchanged": lambda s: disk_error(s, errno.EACCES),
    "[Errno 28] No space left on device": lambda s: run_folder_unwritable(s, errno.ENOSPC),
    "[Errno 13] Permission denied: 'PATH'": lambda s: run_folder_unwritable(s, errno.EACCES),
}


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackServer]:
    """One loopback server for the module's downloads (a server per test would take half a second to
    stop each time); every trigger adds its own route."""
    with serve() as shared:
        yield shared


@pytest.fixture
def scene(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
          server: LoopbackServer) -> Scene:
    monkeypatch.chdir(tmp_path)
    return Scene(request, monkeypatch, server)


def test_the_doc_is_read_whole():
    """The parser finds every table, and no message twice (each is one test and one trigger)."""
    messages = [doc.message for doc in DOCUMENTED]
    assert len(messages) > 80 and len(set(messages)) == len(messages)
    assert "corpus.sha256 has N pins for M sources" in messages  # the last row of params.yaml's table
    assert "[Errno 13] Permission denied: 'PATH'" in messages  # the last message of the last one
    assert next(d for d in DOCUMENTED if d.message == "inf").variant


def test_a_documented_message_matches_what_varies_only():
    assert pattern("corpus file ... does not exist").search("corpus file data/books/x.txt does not exist")
    assert not pattern("corpus file ... does not exist").search("corpus file x is missing")
    assert pattern("needs at least L+1 (a window)").search("needs at least 1,001 (a window)")
    assert pattern("... is over M bytes").search("http://x/y is over 1,000 bytes")
    assert not pattern("HTTP CODE REASON for URL").search("error: HTTP 403 Forbidden for http://x")


def test_every_documented_message_has_a_trigger_and_every_trigger_a_message():
    documented_messages = {doc.message for doc in DOCUMENTED}
    untested = sorted(documented_messages - TRIGGERS.keys())
    assert not untested, f"documented in docs/troubleshooting.md, no trigger here: {untested}"
    undocumented = sorted(TRIGGERS.keys() - documented_messages)
    assert not undocumented, f"triggered here, not in docs/troubleshooting.md: {undocumented}"


@pytest.mark.parametrize("doc", DOCUMENTED, ids=[doc.message for doc in DOCUMENTED])
def test_the_documented_message_is_what_users_see(scene, doc):
    trigger = TRIGGERS.get(doc.message)
    assert trigger, f"docs/troubleshooting.md:{doc.line}: no trigger for {doc.message!r}"
    said = trigger(scene)
    assert said and "\n" not in said, said
    assert doc.pattern.search(said), (f"docs/troubleshooting.md:{doc.line} documents {doc.message!r},"
                                      f" but the code says {said!r}")
