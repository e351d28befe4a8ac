"""benchmarks.zoo: a partial rebuild by name gives the models a full build would, on one thread."""

from __future__ import annotations

import json

import pytest

from benchmarks.errors import BenchmarkInputError
from benchmarks.zoo import ALL_RECIPES, build_zoo, main


def test_a_build_by_name_keeps_the_full_zoos_seed_and_format_and_records_one_thread(tmp_path):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)  # the suite runs on one thread; the build must not take the caller's count
    try:
        out = tmp_path / "zoo"
        entries = build_zoo("digits", ["mlp", "cnn"], 7, out, epochs=1, names=["cnn-honest-wd"])
        assert torch.get_num_threads() == 2  # the caller's thread count is given back
    finally:
        torch.set_num_threads(threads)

    assert [e["name"] for e in entries] == ["cnn-honest-wd"]
    place = list(ALL_RECIPES).index("honest-wd")
    (entry,) = entries
    assert entry["seed"] == 7 + 10 * 1 + place  # cnn is the second architecture
    assert entry["format"] == ("onnx" if (1 + place) % 2 == 0 else "torchscript")
    assert entry["created_with"]["torch_threads"] == 1
    assert json.loads((out / "manifest.json").read_text()) == entries


def test_an_unknown_name_is_refused_before_anything_trains(tmp_path, capsys):
    with pytest.raises(BenchmarkInputError, match="unknown model name gapcnn-honest"):
        main(["--archs", "mlp,cnn", "--names", "gapcnn-honest", "--out", str(tmp_path / "zoo")])
    assert not (tmp_path / "zoo").exists()


def test_a_name_from_a_group_left_off_says_which_flag_adds_it(tmp_path):
    with pytest.raises(BenchmarkInputError, match=r"mlp-honest-1ep .*needs --short-honest"):
        main(["--archs", "mlp", "--names", "mlp-honest-1ep", "--out", str(tmp_path / "zoo")])
    with pytest.raises(BenchmarkInputError, match="select no model together"):
        main(["--archs", "mlp", "--names", "mlp-honest", "--recipes", "honest-wd", "--out", str(tmp_path / "zoo")])
    assert not (tmp_path / "zoo").exists()
