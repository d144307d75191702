"""`charlm generate`: continue a prompt with a trained model, printing the text as it is generated.

Takes `maxlen` and the vocabulary from the checkpoint and writes nothing: the pipeline's outputs
stay as `dvc repro` left them.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from charlm.errors import cli
from charlm.generate import continue_text
from charlm.model_step import load_checkpoint

CHECKPOINT = "models/best.ckpt"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, like every other charlm error (argparse's own adds the usage)."""
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def positive(kind: type, zero: bool = False) -> type:
    """An argparse type: a number > 0 (or >= 0 with `zero`)."""
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind.__name__}") from None
        if not (value >= 0 if zero else value > 0) or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'>=' if zero else '>'} 0 and finite")
        return value
    parse.__name__ = kind.__name__
    return parse  # type: ignore[return-value]


def parser() -> argparse.ArgumentParser:
    top = Parser(prog="charlm", description="A character-level LSTM language model (see README.md).")
    commands = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    gen = commands.add_parser(
        "generate", help="continue a prompt with a trained model",
        description="Continue a prompt with a trained model and print the text as it is generated. "
                    "Writes nothing; the checkpoint says which characters the model knows.")
    gen.add_argument("--prompt", default="\n",
                     help="text to continue (default: a line break, i.e. start a new line from nothing)")
    gen.add_argument("--temperature", "-t", type=positive(float), nargs="+", action="extend", metavar="T",
                     help="softmax temperature(s), > 0: low = safe and repetitive, high = inventive, then garbled;"
                          " several values or repeated flags give one text each (default: 0.8)")
    gen.add_argument("--length", "-n", type=positive(int), default=500,
                     help="characters to generate per text (default: 500)")
    gen.add_argument("--count", type=positive(int), default=1, help="texts per temperature (default: 1)")
    gen.add_argument("--seed", type=positive(int, zero=True), default=0,
                     help="random seed: the same seed, prompt, temperatures and checkpoint give the same text"
                          " (default: 0)")
    gen.add_argument("--checkpoint", default=CHECKPOINT,
                     help=f"a checkpoint written by the train stage (default: {CHECKPOINT})")
    gen.add_argument("--skip-unknown", action="store_true",
                     help="drop prompt characters the model does not know instead of refusing the prompt")
    return top


def generate(args: argparse.Namespace) -> None:
    model = load_checkpoint(args.checkpoint)
    temperatures = args.temperature or [0.8]
    several = len(temperatures) * args.count > 1
    current = None
    for t, i, piece in continue_text(model, args.prompt, temperatures, args.length, args.count, args.seed,
                                     args.skip_unknown, remedy="remove them, or pass --skip-unknown"):
        if (t, i) != current:
            if current is not None:
                print("\n")
            if several:
                print(f"--- T={t:g}, text {i + 1} of {args.count} ---")
            print(args.prompt if args.prompt != "\n" else "", end="")
            current = (t, i)
        print(piece, end="", flush=True)
    print()


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command == "generate":
        cli(lambda: generate(args))


if __name__ == "__main__":
    main()
