"""m-per-class batches: balance, determinism, validation, the streaming path's plan, an
exact resume mid-epoch, and disjoint balanced shares under 2 gloo processes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from contrastkit.data.dataset import ImageDataset
from contrastkit.data.m_per_class import check_m_per_class, m_per_class_order
from contrastkit.methods import METHODS
from contrastkit.train import ddp
from contrastkit.train.batches import ImageBatches
from contrastkit.train.trainer import Trainer
from contrastkit.views.pipeline import ImageViews
from tests.helpers.distributed import run_distributed


def _labels(n: int = 200, classes: int = 13, seed: int = 0) -> torch.Tensor:
    """Uneven classes: some with fewer items than others."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, generator=g) ** 2 * classes).long()


def assert_balanced(batch_labels: torch.Tensor, m: int) -> None:
    classes, counts = batch_labels.unique(return_counts=True)
    assert counts.tolist() == [m] * len(classes), batch_labels.tolist()


@pytest.mark.parametrize("m,batch_size", [(2, 8), (4, 16), (3, 12)])
def test_every_batch_holds_m_distinct_items_of_each_of_its_classes(m, batch_size):
    labels = _labels()
    order = m_per_class_order(labels, m, batch_size, seed=3)
    assert len(order) == len(labels) // batch_size * batch_size
    sizes = torch.bincount(labels)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        assert_balanced(labels[index], m)
        for c in labels[index].unique():  # no item twice unless its class is too small
            items = index[labels[index] == c]
            assert len(items.unique()) == min(m, int(sizes[c]))
    assert torch.equal(order, m_per_class_order(labels, m, batch_size, seed=3))
    assert not torch.equal(order, m_per_class_order(labels, m, batch_size, seed=4))


def test_items_of_a_class_are_used_before_any_repeats():
    labels = torch.arange(40) % 4  # 10 items a class, 2 batches of 2 classes x 4 = 16 items
    order = m_per_class_order(labels, 4, 8, seed=0)
    for c in range(4):
        used = order[labels[order] == c].tolist()
        assert len(set(used)) == min(len(used), 10)


def test_bad_settings_name_the_field():
    labels = torch.arange(12) % 3
    with pytest.raises(ValueError, match=r"divisible by data\.m_per_class"):
        check_m_per_class(labels, 4, 6)
    with pytest.raises(ValueError, match="needs at least 4 classes, got 3"):
        check_m_per_class(labels, 2, 8)
    with pytest.raises(ValueError, match=r"2 x 2"):
        check_m_per_class(labels, 2, 6, world=2)
    with pytest.raises(ValueError, match="labelled"):
        check_m_per_class(None, 2, 4)


def _dataset(n: int = 96, classes: int = 8) -> ImageDataset:
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (n, 1, 12, 12), dtype=torch.uint8, generator=g)
    return ImageDataset(images, torch.arange(n) % classes, [str(i) for i in range(n)])


def test_streaming_path_plans_the_same_balanced_batches(tmp_path: Path):
    from contrastkit.data.folder_stream import stream_image_folder
    from contrastkit.train.stream_batches import StreamingImageBatches
    from tests.data.helpers import fashion_subset, write_png_folder

    images, labels = fashion_subset(100, 10)
    folder = write_png_folder(tmp_path / "f", images, labels)
    data = stream_image_folder(folder)
    views = ImageViews.simclr(28)
    streamed = StreamingImageBatches(data, views, workers=0, m_per_class=2)
    memory = ImageBatches(data, views, m_per_class=2)
    order = streamed.order(7, 10)
    assert torch.equal(order, memory.order(7, 10))
    assert all(torch.equal(p, order[i * 10 : (i + 1) * 10]) for i, p in enumerate(streamed._plan))
    batch = streamed.batch(order[:10], torch.Generator().manual_seed(0))
    assert_balanced(batch.labels, 2)


class Recording(ImageBatches):
    """Records every batch's item positions."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[list[int]] = []

    def batch(self, index, generator):
        self.seen.append(index.tolist())
        return super().batch(index, generator)


def _fit(run_dir: Path | None, stop: int | None = None, resume: bool = False) -> Recording:
    torch.manual_seed(0)
    method = METHODS["multi_similarity"](
        _tiny_encoder(), proj_hidden_dim=16, proj_dim=8, memory_size=64
    )
    trainer = Trainer(
        method, optimizer="sgd", lr=0.05, batch_size=16, steps=9, precision="fp32",
        run_dir=run_dir, checkpoint_every=100, progress=False, device="cpu",
    )  # fmt: skip
    source = Recording(_dataset(), ImageViews.simclr(8, blur_p=0), m_per_class=4)
    trainer.fit(source, resume=resume, stop_at_step=stop)
    source.method_state = {k: v.clone() for k, v in method.state_dict().items()}  # type: ignore[attr-defined]
    return source


def _tiny_encoder():
    from contrastkit.encoders import CompactCNN

    return CompactCNN(1, widths=(8, 16))


def test_a_resumed_run_draws_the_same_balanced_batches_and_memory(tmp_path: Path):
    """9 steps (epoch of 6 steps, then 3 of the next) == 4 steps, stop, resume 5."""
    straight = _fit(None)
    first = _fit(tmp_path / "run", stop=4)
    resumed = _fit(tmp_path / "run", resume=True)
    assert first.seen + resumed.seen == straight.seen
    labels = _dataset().labels
    for index in straight.seen:
        assert_balanced(labels[torch.tensor(index)], 4)
    for key, value in straight.method_state.items():
        assert torch.equal(value, resumed.method_state[key]), key  # incl. the XBM memory


def _shares(rank: int, world: int) -> list[list[int]]:
    source = ImageBatches(_dataset(), lambda x, g: [x], m_per_class=2)
    order = source.order(11, 16)
    return [ddp.local_slice(order[s : s + 16], 16).tolist() for s in range(0, len(order), 16)]


@pytest.mark.slow
def test_two_processes_get_disjoint_balanced_shares_of_each_batch(tmp_path: Path):
    rank0, rank1 = run_distributed(_shares, 2, tmp_path)
    order = m_per_class_order(_dataset().labels, 2, 16, seed=11)
    labels = _dataset().labels
    for step, (a, b) in enumerate(zip(rank0, rank1, strict=True)):
        assert len(a) == len(b) == 8 and not set(a) & set(b)
        assert a + b == order[step * 16 : (step + 1) * 16].tolist()  # union: the global batch
        assert_balanced(labels[torch.tensor(a)], 2)
        assert_balanced(labels[torch.tensor(b)], 2)
        assert not set(labels[a].tolist()) & set(labels[b].tolist())  # whole classes each
