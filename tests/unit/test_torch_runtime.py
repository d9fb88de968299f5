"""Device choice from config and torch seeding."""

from __future__ import annotations

import pytest
import torch

from fingerprintml.seeds import seed_for
from fingerprintml.torch_runtime import seed_torch, select_device


def test_auto_and_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto", "xrd.device") == torch.device("cpu")
    assert select_device("cpu", "xrd.device") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto", "xrd.device") == torch.device("cuda")
    assert select_device("cuda:1", "xrd.device") == torch.device("cuda", 1)


@pytest.mark.parametrize("requested", ["cuda", "cuda:1"])
def test_cuda_without_a_cuda_device_names_the_setting(requested: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match=rf"config particles\.device is '{requested}' but torch sees no CUDA"):
        select_device(requested, "particles.device")


def test_an_unknown_device_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"config xrd\.device is 'gpu': expected auto, cpu, cuda"):
        select_device("gpu", "xrd.device")


def test_seed_torch_seeds_the_named_stream() -> None:
    generator = seed_torch(7, "xrd", "init")
    global_draw = torch.rand(5)
    assert generator.initial_seed() == seed_for(7, "xrd", "init")
    torch.manual_seed(seed_for(7, "xrd", "init"))
    assert torch.equal(global_draw, torch.rand(5))
    again = seed_torch(7, "xrd", "init")
    assert torch.equal(torch.rand(5, generator=generator), torch.rand(5, generator=again))
    other = seed_torch(7, "xrd", "loader")
    assert not torch.equal(torch.rand(5, generator=seed_torch(7, "xrd", "init")), torch.rand(5, generator=other))
