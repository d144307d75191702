"""Stage plot_softmax: what the temperature does to a softmax, on random and on real logits.

    seed -> 10 random logits -> tempered_softmax at each of plot.temperatures -> plots/softmax_random.png
    models/best.ckpt + prompt -> next-character logits -> the same curves, the softmax over every
    character, drawn for the likeliest ones -> plots/softmax_model.png
"""

from pathlib import Path

from charlm import params
from charlm.errors import cli
from charlm.files import atomic_path
from charlm.labels import char_label
from charlm.model.checkpoint import load_checkpoint
from charlm.model.compiled import Stepper
from charlm.sample.prompt import PROMPT_SEARCH, default_prompt, encode_prompt
from charlm.sample.temperature import plot_curves, random_logits
from charlm.text.splits import load_text, load_vocab

DATA = Path("data/prepared")
CHECKPOINT = Path("models/best.ckpt")
RANDOM_PNG = Path("plots/softmax_random.png")
MODEL_PNG = Path("plots/softmax_model.png")
TOP_K = 20


def main() -> None:
    seed, cfg = params.load("seed", "plot")
    model = load_checkpoint(CHECKPOINT, vocab=load_vocab(DATA))
    prompt = cfg.prompt or default_prompt(load_text(DATA, "val", PROMPT_SEARCH), model.hparams.maxlen)
    codes = encode_prompt(prompt, model.vocab, remedy="remove them from plot.prompt")
    logits = Stepper(model, batch=1).read(codes[None].numpy())[0]
    noise = random_logits(seed)

    with atomic_path(RANDOM_PNG) as random_png, atomic_path(MODEL_PNG) as model_png:  # both or neither
        plot_curves(noise, [str(i) for i in range(len(noise))], cfg.temperatures,
                    f"Tempered softmax of {len(noise)} random logits", random_png)
        title = f"Next character after {prompt[-30:]!r} (the {TOP_K} likeliest of {len(logits)})"
        labels = [char_label(c) for c in model.vocab]
        plot_curves(logits, labels, cfg.temperatures, title, model_png, top=TOP_K)
    print(f"plot_softmax: wrote {RANDOM_PNG} and {MODEL_PNG}")


if __name__ == "__main__":
    cli(main)
