"""train.init_from: another model's weights, row by row for the characters both vocabularies hold."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from charlm import LitCharRNN
from charlm.errors import CharlmError
from charlm.model.checkpoint import load_checkpoint, save
from charlm.model.transplant import check_shape, starting_point, transplant


def lstm(vocab: str, seed: int, **shape: int) -> LitCharRNN:
    torch.manual_seed(seed)
    return LitCharRNN(len(vocab), embed_dim=6, hidden_size=8, num_layers=2, vocab=list(vocab), **shape)


def test_known_characters_keep_their_rows_and_new_ones_start_unlikely(tmp_path):
    old = load_checkpoint(save(lstm("abc", seed=1), tmp_path / "old.ckpt"))
    vocab = sorted("abc" + " z")  # a space sorts first: every old character moves to another index
    new = lstm("".join(vocab), seed=2)
    text = torch.arange(5).repeat_interleave(torch.tensor([500, 100, 100, 100, 1]))  # " " common, "z" rare
    assert transplant(new, vocab, old, text[torch.randperm(len(text))]) == [" ", "z"]
    state = new.state_dict()
    for name in ("embed.weight", "head.out.weight", "head.out.bias"):
        for i, c in enumerate("abc"):
            assert torch.equal(state[name][vocab.index(c)], old.weights[name][i])
    for name in ("lstm.weight_hh_l1", "lstm.bias_ih_l0", "head.dense.weight"):
        assert torch.equal(state[name], old.weights[name])
    space, z = vocab.index(" "), vocab.index("z")
    assert not state["head.out.weight"][[space, z]].any()  # the same in every context
    bias, known = state["head.out.bias"], old.weights["head.out.bias"]
    assert bias[space] - bias[z] == pytest.approx(math.log(500.5 / 1.5), rel=1e-4)  # as their shares
    assert torch.equal(bias[[vocab.index(c) for c in "abc"]], known)
    rows = old.weights["embed.weight"]
    assert state["embed.weight"][[space, z]].abs().mean() < 3 * rows.abs().mean()


def test_new_characters_start_with_the_share_the_new_text_gives_them(tmp_path):
    """With PyTorch's fresh rows a new character takes about as much probability as a known one; with
    its row at zero and its bias set from its count, about its share of the text."""
    old = load_checkpoint(save(lstm("abcdefgh", seed=1), tmp_path / "old.ckpt"))
    vocab = sorted("abcdefgh" + "xyz")
    text = torch.arange(11).repeat_interleave(torch.tensor([1000] * 8 + [1, 1, 1]))
    new = lstm("".join(vocab), seed=2)
    transplant(new, vocab, old, text[torch.randperm(len(text))])
    new.eval()
    with torch.no_grad():
        p = new(torch.tensor([[0, 1, 2, 3]])).softmax(-1)[0]
    assert p[[vocab.index(c) for c in "xyz"]].sum() < 0.01


def test_weights_of_another_shape_are_refused_with_the_keys_to_change(tmp_path):
    old = load_checkpoint(save(lstm("abc", seed=1), tmp_path / "old.ckpt"))
    with pytest.raises(CharlmError, match=r"^train.init_from w.ckpt has hidden_size=8, num_layers=2 but"
                       r" params.yaml's model has hidden_size=16, num_layers=1: set model.hidden_size"):
        check_shape(old, SimpleNamespace(embed_dim=6, hidden_size=16, num_layers=1), "w.ckpt")
    check_shape(old, SimpleNamespace(embed_dim=6, hidden_size=8, num_layers=2), "w.ckpt")  # same shape
    with pytest.raises(CharlmError, match="the prepared vocabulary lacks 1 of the starting model's"):
        transplant(lstm("ab", seed=2), ["a", "b"], old, torch.tensor([0, 1]))


def test_a_starting_checkpoint_must_lie_in_its_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/weights").mkdir(parents=True)
    save(lstm("abc", seed=1), tmp_path / "outside.ckpt")
    (tmp_path / "data/weights/link.ckpt").symlink_to(tmp_path / "outside.ckpt")
    for name in ("outside.ckpt", "data/weights/link.ckpt", "data/weights/../outside.ckpt"):
        with pytest.raises(CharlmError, match="a starting checkpoint must lie in data/weights/"):
            starting_point(name, Path("data/weights"))
    with pytest.raises(CharlmError, match="train.init_from 'data/weights/none.ckpt' does not exist"):
        starting_point("data/weights/none.ckpt", Path("data/weights"))
    save(lstm("abc", seed=1), tmp_path / "data/weights/in.ckpt")
    assert starting_point("data/weights/in.ckpt", Path("data/weights")).vocab == ["a", "b", "c"]


def test_a_starting_checkpoint_behind_a_linked_data_folder_is_refused(tmp_path, monkeypatch):
    """Security: with `data` a link out of the project (`mv data ../data.real && ln -s ../data.real data`),
    data/weights/x.ckpt is a file outside the project: every folder on the way is checked."""
    (tmp_path / "outside/weights").mkdir(parents=True)
    save(lstm("abc", seed=1), tmp_path / "outside/weights/x.ckpt")
    (tmp_path / "project").mkdir()
    monkeypatch.chdir(tmp_path / "project")
    Path("data").symlink_to(tmp_path / "outside")
    with pytest.raises(CharlmError, match="^data is a link .*: the folder data/weights/ must be a real"):
        starting_point("data/weights/x.ckpt", Path("data/weights"))


def test_a_nul_character_in_the_name_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CharlmError, match="train.init_from 'data/weights/a\\\\x00.ckpt' holds a NUL"):
        starting_point("data/weights/a\0.ckpt", Path("data/weights"))
