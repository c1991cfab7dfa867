"""Audio: instrument notes rendered from the General MIDI soundfont, or WAV/FLAC folders.

Items are mono clips (padded or cropped to `data.clip_seconds`). The named set holds 3,072
one-second notes (16 instrument families as labels, for evaluation only; test pitches
never occur in training); a folder with one subfolder per class keeps `data.test_size` of
each class (default 25%) for evaluation, a flat folder trains without labels. Views
augment the waveform, run the encoder's log-mel front end, then mask the spectrogram;
the encoder is a small CNN on the log-mel. Evaluation: kNN (on train-standardised
features) and a linear probe against the raw log-mel statistics and the random-init
encoder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from contrastkit.config import Config
from contrastkit.data.audio import AUDIO_SUFFIXES, fit_length, read_audio, read_audio_folder
from contrastkit.data.inputs import as_list
from contrastkit.data.instrument_notes import load_instrument_notes
from contrastkit.encoders.audio import AudioEncoder
from contrastkit.errors import ConfigError, ContrastkitError
from contrastkit.evaluate.semi_supervised import label_subset
from contrastkit.modalities.base import ItemSet
from contrastkit.modalities.sections import AudioDataConfig, AudioModelConfig, AudioViewsConfig
from contrastkit.modalities.tensor import TensorData, TensorModality
from contrastkit.nn.log_mel import LogMel
from contrastkit.views.audio import AudioViews


class AudioModality(TensorModality):
    name = "audio"
    summary = "audio: a folder of .wav/.flac clips (one subfolder per class) or rendered notes"
    datasets = {
        "instrument-notes": "3,072 one-second notes of the 128 GM programs rendered with "
        "fluidsynth (16 families; test pitches unseen in training)"
    }
    data_config, model_config, views_config = AudioDataConfig, AudioModelConfig, AudioViewsConfig
    raw_name = "raw log-mel statistics"
    defaults = {
        "optim": {"optimizer": "adamw", "lr": 2e-3, "weight_decay": 1e-4},
        "train": {"batch_size": 64, "precision": "fp32", "channels_last": False,
                  "monitor_every": 0},
        "eval": {"knn_k": 20},
    }  # fmt: skip
    main_metric = "knn_top1"
    has_transfer = True
    data_free = True

    def detect(self, path: Path) -> bool:
        return path.is_dir() and any(
            p.suffix.lower() in AUDIO_SUFFIXES for p in [*path.iterdir(), *path.glob("*/*")]
        )

    def check(self, cfg: Config) -> None:
        super().check(cfg)
        named = cfg.data.dataset in self.datasets
        self.check_test_size(
            cfg, count=False, fixed="the notes' test pitches are fixed" if named else None
        )

    def prepare(self, cfg: Config, run_dir: Path | None) -> TensorData:
        d = cfg.data
        if d.dataset.strip().lower() in self.datasets:
            notes = load_instrument_notes()
            if notes.sample_rate != d.sample_rate:
                raise ConfigError(
                    f"config key 'data.sample_rate': the notes are rendered at "
                    f"{notes.sample_rate} Hz, got {d.sample_rate}"
                )
            tr, te = notes.train, notes.test
            return TensorData(
                f"instrument notes: {len(tr):,} train / {len(te):,} test clips, test pitches "
                f"{list(notes.settings.test_pitches)} unseen", tr.labels, [], tr.clips,
                te.clips, te.labels, list(notes.class_names),
            )  # fmt: skip
        folder = read_audio_folder(
            d.dataset, sample_rate=d.sample_rate, clip_seconds=d.clip_seconds
        )
        skipped = [(str(p), "not readable audio") for p in folder.skipped]
        if folder.labels is None:
            return TensorData(f"{len(folder):,} unlabelled clips", None, skipped, folder.clips)
        keep = label_subset(folder.labels, 1.0 - (d.test_size or 0.25), cfg.train.seed)
        test = torch.ones(len(folder), dtype=torch.bool)
        test[keep] = False
        if not test.any():
            raise ConfigError(
                f"config key 'data.test_size': {d.dataset} has too few clips per class to "
                "hold any out for evaluation; add clips or raise data.test_size"
            )
        return TensorData(
            f"{len(folder):,} clips in {len(folder.class_names)} classes, "
            f"{int(test.sum())} held out", folder.labels[keep], skipped, folder.clips[keep],
            folder.clips[test], folder.labels[test], folder.class_names,
        )  # fmt: skip

    def build_encoder(self, cfg: Config, data: TensorData) -> AudioEncoder:
        m = cfg.model
        return AudioEncoder(cfg.data.sample_rate, tuple(m.widths), n_mels=m.n_mels, hop=m.hop)

    def preprocessing(self, cfg: Config, data: TensorData) -> dict[str, Any]:
        """Sample rate and clip length of the clips, and the log-mel front end's settings."""
        d, m = cfg.data, cfg.model
        samples = round(d.clip_seconds * d.sample_rate)
        return {"sample_rate": d.sample_rate, "clip_seconds": d.clip_seconds, "samples": samples,
                "n_mels": m.n_mels, "hop": m.hop}  # fmt: skip

    def without_data(self, cfg: Config, record: dict[str, Any], folder: Path):
        cfg = cfg.model_copy(deep=True)
        cfg.data.sample_rate, cfg.data.clip_seconds = record["sample_rate"], record["clip_seconds"]
        cfg.model.n_mels, cfg.model.hop = record["n_mels"], record["hop"]
        return cfg, TensorData(f"{cfg.data.dataset} (not read: loaded from {folder})", None)

    def views(self, cfg: Config, data: TensorData, method) -> AudioViews:
        v = cfg.views
        return AudioViews(
            method.encoder.frontend, n_views=v.n_views, crop_min_scale=v.crop_min_scale,
            semitones=v.semitones, mix_weight=v.mix_weight, time_masks=v.time_masks,
            freq_masks=v.freq_masks,
        )  # fmt: skip

    def raw_features(self, items: torch.Tensor, cfg: Config, data: TensorData) -> torch.Tensor:
        """Mean and std over time of each band of a 64-band log-mel, (N, 128)."""
        frontend = LogMel(cfg.data.sample_rate, n_mels=64, normalize=False)
        with torch.no_grad():
            spec = torch.cat([frontend(c.float()) for c in items.split(512)]).squeeze(1)
        return torch.cat([spec.mean(dim=2), spec.std(dim=2)], dim=1)

    def read_source(self, cfg: Config, data: TensorData, source: str, split: str) -> ItemSet:
        d = cfg.data
        folder = read_audio_folder(source, sample_rate=d.sample_rate, clip_seconds=d.clip_seconds)
        labels = None if folder.labels is None else folder.labels.numpy()
        ids = [str(p.relative_to(source)) for p in folder.files]
        return ItemSet(
            folder.clips, ids, labels, folder.class_names or None, name=Path(source).name
        )

    def labelled_source(self, cfg: Config, data: TensorData, source: str):
        return self.read_source(cfg, data, source, "train"), None  # a folder: no test split

    def as_items(self, cfg: Config, data: TensorData, inputs: Any, kind: str | None) -> ItemSet:
        """Audio files (resampled to the run's rate), or waveforms at the run's
        `data.sample_rate`: 1-D arrays or an (N, T) array or tensor; every clip padded or
        cropped to `data.clip_seconds`, as the run's clips are."""
        d = cfg.data
        samples = round(d.clip_seconds * d.sample_rate)
        if isinstance(inputs, torch.Tensor | np.ndarray) and inputs.ndim == 2:
            inputs = list(np.asarray(inputs, dtype=np.float32))
        waves = [
            read_audio(x, sample_rate=d.sample_rate, samples=samples)
            if isinstance(x, str | Path)
            else fit_length(np.asarray(x, dtype=np.float32).reshape(-1), samples)
            for x in as_list(inputs)
        ]
        clips = torch.from_numpy(np.stack(waves))
        return ItemSet(clips, [str(i) for i in range(len(clips))])

    def read_query(self, model: Any, cfg: Config, data: TensorData, query: str, kind: str):
        if kind != "file":
            raise ContrastkitError("an audio index is queried with --file CLIP.wav or --id")
        samples = round(cfg.data.clip_seconds * cfg.data.sample_rate)
        wave = read_audio(query, sample_rate=cfg.data.sample_rate, samples=samples)
        return ItemSet(torch.from_numpy(wave)[None], [Path(query).name])
