"""train.init_from: another model's weights, row by row for the characters both vocabularies hold."""

from __future__ import annotations

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


def test_known_characters_keep_their_rows_and_new_ones_start_fresh(tmp_path):
    old = load_checkpoint(save(lstm("abc", seed=1), tmp_path / "old.ckpt"))
    vocab = sorted("abc" + " z")  # a space sorts first: every old character moves to another index
    new = lstm("".join(vocab), seed=2)
    fresh = {k: v.clone() for k, v in new.state_dict().items()}
    assert transplant(new, vocab, old) == [" ", "z"]
    state = new.state_dict()
    for name in ("embed.weight", "head.out.weight", "head.out.bias"):
        for i, c in enumerate("abc"):
            assert torch.equal(state[name][vocab.index(c)], old.weights[name][i])
        for c in " z":
            assert torch.equal(state[name][vocab.index(c)], fresh[name][vocab.index(c)])
    for name in ("lstm.weight_hh_l1", "lstm.bias_ih_l0", "head.dense.weight"):
        assert torch.equal(state[name], old.weights[name])


def test_weights_of_another_shape_are_refused_with_the_keys_to_change(tmp_path):
    old = load_checkpoint(save(lstm("abc", seed=1), tmp_path / "old.ckpt"))
    with pytest.raises(CharlmError, match=r"^train.init_from w.ckpt has hidden_size=8, num_layers=2 but"
                       r" params.yaml's model has hidden_size=16, num_layers=1: set model.hidden_size"):
        check_shape(old, SimpleNamespace(embed_dim=6, hidden_size=16, num_layers=1), "w.ckpt")
    check_shape(old, SimpleNamespace(embed_dim=6, hidden_size=8, num_layers=2), "w.ckpt")  # same shape
    with pytest.raises(CharlmError, match="the prepared vocabulary lacks 1 of the starting model's"):
        transplant(lstm("ab", seed=2), ["a", "b"], old)


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
