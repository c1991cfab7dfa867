"""precision "auto" on a CPU: bf16 only with native bf16 instructions (AVX512-BF16 or
AMX-BF16), not where oneDNN emulates it on plain AVX-512 (about 5x slower than float32)."""

from __future__ import annotations

import pytest
import torch

from contrastkit.train import precision
from contrastkit.train.precision import autocast_dtype, cpu_has_fast_bf16

CPU = torch.device("cpu")
AVX512 = {"architecture": "x86_64", "avx512_f": True, "avx512_bw": True, "avx512_vnni": True,
          "avx512_bf16": False, "amx_bf16": False, "amx_tile": False}  # fmt: skip


def _capabilities(monkeypatch, found) -> None:
    def fake():
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(torch.cpu, "get_capabilities", fake)


def test_plain_avx512_trains_in_float32_under_auto(monkeypatch) -> None:
    _capabilities(monkeypatch, AVX512)
    assert not cpu_has_fast_bf16()
    assert autocast_dtype("auto", CPU) is None
    assert autocast_dtype("bf16", CPU) == torch.bfloat16  # asked for: still given


@pytest.mark.parametrize("flag", ["avx512_bf16", "amx_bf16"])
def test_native_bf16_instructions_pick_bf16(monkeypatch, flag: str) -> None:
    _capabilities(monkeypatch, {**AVX512, flag: True})
    assert cpu_has_fast_bf16()
    assert autocast_dtype("auto", CPU) == torch.bfloat16


@pytest.mark.parametrize("found", [{"architecture": "aarch64"}, RuntimeError("no cpuinfo")])
def test_off_x86_or_unknown_asks_onednn(monkeypatch, found) -> None:
    _capabilities(monkeypatch, found)
    answers = iter([True, False])
    monkeypatch.setattr(precision, "_onednn_bf16", lambda: next(answers))
    assert cpu_has_fast_bf16() is True
    assert cpu_has_fast_bf16() is False


def test_this_machine_agrees_with_its_flags() -> None:
    flags = torch.cpu.get_capabilities()
    if flags.get("architecture") != "x86_64":
        pytest.skip("x86 only")
    assert cpu_has_fast_bf16() == bool(flags.get("avx512_bf16") or flags.get("amx_bf16"))
