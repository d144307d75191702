"""The `charlm` command: `generate` continues a prompt, printing the text as it is generated;
`explore` opens the trained model in the browser (charlm.app.page).

Both read the checkpoint and write nothing: the pipeline's outputs stay as `dvc repro` left them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from charlm.errors import CharlmError, cli

if TYPE_CHECKING:
    from charlm.model.checkpoint import Checkpoint
    from charlm.params import Controls

CHECKPOINT = "models/best.ckpt"
DATA = "data/prepared"
METRICS = "metrics/evaluate.json"
LIVE = "dvclive"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, like every other charlm error (argparse's own adds the usage)."""
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def arg_number(kind: type, low: float | None = None, high: float | None = None) -> Callable[[str], float]:
    """An argparse type: a finite `kind`, from `low` to `high` where given (the sampling options' bounds
    are Controls', checked together once all are read)."""
    word = "a whole number" if kind is int else "a number"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {word}") from None
        if value != value or abs(value) == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} must be finite")
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text!r} must be from {low:g} to {high:g}")
        return value

    parse.__name__ = word
    return parse


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="charlm", description="A character-level LSTM language model (see README.md).")
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    generate_options(commands.add_parser(
        "generate", help="continue a prompt with a trained model",
        description="Continue a prompt with a trained model and print the text as it is generated. "
                    "Writes nothing; the checkpoint says which characters the model knows."))
    explore_options(commands.add_parser(
        "explore", help="look inside the trained model in the browser",
        description="Open the trained model in a local web page: write with it, see how sure it was of each"
                    " character, sweep temperatures, colour a text by an LSTM cell, and see the run's"
                    " curves. Serves on 127.0.0.1 only, offline."))
    return top


def generate_options(gen: argparse.ArgumentParser) -> None:
    gen.add_argument("--prompt", default="\n",
                     help="text to continue (default: a line break, i.e. start a new line from nothing)")
    gen.add_argument("--temperature", "-t", type=arg_number(float), nargs="+", action="extend",
                     metavar="T",
                     help="softmax temperature(s), >= 0: low = safe and repetitive, high = inventive,"
                          " then garbled; 0 = greedy (always the likeliest character); several values or"
                          " repeated flags give one text each (default: 0.8)")
    gen.add_argument("--top-k", type=arg_number(int), default=0, metavar="K",
                     help="draw only from the K likeliest characters (default: 0, all of them; 1 = greedy)")
    gen.add_argument("--top-p", type=arg_number(float), default=1.0, metavar="P",
                     help="draw only from the fewest likeliest characters whose probabilities add up to P"
                          " (nucleus sampling; default: 1, all of them)")
    gen.add_argument("--length", "-n", type=arg_number(int), default=500,
                     help="characters to generate per text (default: 500)")
    gen.add_argument("--count", type=arg_number(int), default=1, help="texts per temperature (default: 1)")
    gen.add_argument("--seed", type=arg_number(int), default=0,
                     help="random seed: the same seed, prompt, sampling options and checkpoint give the"
                          " same text (default: 0)")
    gen.add_argument("--checkpoint", default=CHECKPOINT,
                     help=f"a checkpoint written by the train stage (default: {CHECKPOINT})")
    gen.add_argument("--skip-unknown", action="store_true",
                     help="drop prompt characters the model does not know instead of refusing the prompt")
    gen.add_argument("--adapt", metavar="FILE",
                     help="first adapt the model to this UTF-8 text (a chapter of another author, say):"
                          " read it once, learning as it reads, then write with the adapted weights; prints"
                          " the text's loss before, while and after adapting; the checkpoint is not changed")
    gen.add_argument("--data", default=DATA,
                     help="the prepared data: --adapt gathers its statistics on the validation text"
                          f" (default: {DATA}; without it, on a text the model writes)")
    gen.add_argument("--adapt-seconds", type=arg_number(float, 1, 3600), default=60, metavar="S",
                     help="stop adapting after about S seconds, wherever in the text (default: 60)")


def explore_options(explore: argparse.ArgumentParser) -> None:
    explore.add_argument("--port", type=arg_number(int, 1, 65535), default=None,
                         help="the port to listen on (default: a free one from 7860 on)")
    explore.add_argument("--checkpoint", default=CHECKPOINT,
                         help=f"a checkpoint written by the train stage (default: {CHECKPOINT})")
    explore.add_argument("--data", default=DATA,
                         help=f"the prepared data, for default texts and known words (default: {DATA})")
    explore.add_argument("--live", default=LIVE,
                         help=f"the run's DVCLive folder, for the curves (default: {LIVE})")


def in_order(pieces: Iterable[tuple[int, str]], length: int) -> Iterator[tuple[int, str]]:
    """Pieces of texts generated together (row, piece), text by text: the current text as it grows,
    the others held back until their turn (`length` characters make a text complete)."""
    current = 0
    held: dict[int, list[str]] = defaultdict(list)
    written: dict[int, int] = defaultdict(int)
    for row, piece in pieces:
        written[row] += len(piece)
        if row == current:
            yield row, piece
        else:
            held[row].append(piece)
        while written[current] >= length:
            current += 1
            for earlier in held.pop(current, []):
                yield current, earlier


def generate(args: argparse.Namespace) -> None:
    from charlm.model.checkpoint import load_checkpoint  # here, not at the top: `--help` answers at once
    from charlm.params import Controls, checked
    from charlm.sample.generate import texts
    from charlm.sample.prompt import encode_prompt
    from charlm.text.splits import decode

    if sys.stdout is None:  # started with its standard output closed (`>&-`)
        raise CharlmError("charlm generate: standard output is closed: there is nowhere to write the text")
    controls = checked(Controls, {"temperatures": args.temperature or [0.8], "top_k": args.top_k,
                                  "top_p": args.top_p, "length": args.length, "count": args.count,
                                  "seed": args.seed}, "charlm generate: ")
    model = load_checkpoint(args.checkpoint)
    if args.adapt:
        model = adapted(model, Path(args.adapt), args.adapt_seconds, stage_metrics(args.checkpoint),
                        Path(args.data))
    codes = encode_prompt(args.prompt, model.vocab, skip=args.skip_unknown,
                          remedy="remove them, or pass --skip-unknown")
    prompt = decode(codes, model.vocab)  # what the model read
    sys.stdout.reconfigure(errors="backslashreplace")  # a character the terminal cannot show: its escape
    try:
        show(in_order(texts(model, codes, controls), controls.length), prompt if args.prompt != "\n" else "",
             controls)
    except BrokenPipeError:  # `charlm generate | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit


def stage_metrics(checkpoint: str) -> Path | None:
    """The evaluate stage's metrics if `checkpoint` is the pipeline's: they describe that model only."""
    return Path(METRICS) if checkpoint == CHECKPOINT else None


MAX_ADAPT_BYTES = 50_000_000  # a text to adapt to: a book is a few MB, the time cap ends the reading anyway


def adapt_text(path: Path) -> str:
    """The UTF-8 text in `path`, a regular file of at most MAX_ADAPT_BYTES (read up to one byte more: a
    file in /proc says it has 0 bytes, whatever it holds)."""
    if path.is_dir():
        raise CharlmError(f"--adapt {path} is a directory: name a UTF-8 text file")
    if path.exists() and not path.is_file():
        raise CharlmError(f"--adapt {path} is not a regular file (a device, pipe or socket): name a UTF-8"
                          " text file")
    if not path.is_file():
        raise CharlmError(f"--adapt {path}: no such file (name a UTF-8 text file)")
    with open(path, "rb") as f:
        raw = f.read(MAX_ADAPT_BYTES + 1)
    if len(raw) > MAX_ADAPT_BYTES:
        raise CharlmError(f"--adapt {path} is over {MAX_ADAPT_BYTES:,} bytes: give a part of it")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CharlmError(f"--adapt {path} is not UTF-8 text ({e.reason} at byte {e.start:,})") from None


def adapted(model: Checkpoint, path: Path, seconds: float, metrics: Path | None, data: Path) -> Checkpoint:
    """`model` adapted to the text in `path` for about `seconds`, read as the evaluate stage chose
    (`metrics`) or params.yaml says, its statistics from `data`'s validation text; what it did on stderr."""
    from charlm.evaluate.adapt import adapt, max_chars, project_reading, text_codes, validation_codes

    text = adapt_text(path)
    codes, unknown = text_codes(text, model.vocab, f"--adapt {path}", limit=max_chars(seconds))
    if unknown:
        print(f"adapt: left out characters the model does not know: {unknown!r}", file=sys.stderr)
    a = adapt(model, codes, seconds, project_reading(metrics), validation_codes(data, model.vocab))
    print(f"adapt: read {a.chars:,} characters of {path} in {a.seconds:g} s, {a.online:.3f} nats per"
          f" character while adapting; on its last {a.checked + 1:,} characters, set aside: {a.before:.3f}"
          f" before, {a.after:.3f} after (the checkpoint is unchanged)", file=sys.stderr, flush=True)
    return a.model


def show(pieces: Iterable[tuple[int, str]], prompt: str, controls: Controls) -> None:
    """Each text after its prompt, as it grows; a header before each when there are several."""
    temperatures, count = controls.temperatures, controls.count
    several = len(temperatures) * count > 1
    current = -1
    for row, piece in pieces:
        if row != current:
            if current >= 0:
                print("\n")
            if several:
                print(f"--- T={temperatures[row // count]:g}, text {row % count + 1} of {count} ---")
            print(prompt, end="")
            current = row
        print(piece, end="", flush=True)
    print()


def explore(args: argparse.Namespace) -> None:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before Gradio loads: no telemetry at all
    from charlm.app.page import serve

    serve(Path(args.checkpoint), args.port, Path(args.data), Path(args.live),
          metrics=stage_metrics(args.checkpoint))


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    cli(lambda: (generate if args.command == "generate" else explore)(args))


if __name__ == "__main__":
    main()
