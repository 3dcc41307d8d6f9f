"""A disentanglement sweep over the zoo: one row per checkpoint, grouped by setting over seeds.

A *setting* is a model label (family and β/γ, e.g. "β-TCVAE (β=6)") plus how it was trained
(streamed from the factor grid or on the fixed split); its checkpoints differ only in the seed.
Rows come from cached scores (`metrics.scorecard`), read without loading any weights, so a
page can draw the sweep instantly; checkpoints without cached scores are listed apart.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from latentlab import checkpoint
from latentlab.errors import LatentlabError
from latentlab.metrics.scorecard import ScoreSettings, lookup, settings_for
from latentlab.validate import family_of

SCORE_KEYS = ("mig", "dci_d", "dci_c", "dci_i", "sap", "factorvae", "betavae")


def checkpoint_row(folder: Path, settings: ScoreSettings | None = None) -> dict:
    """What the sweep shows of one checkpoint folder: identity, setting, seed, images seen, test
    MSE and its cached scores (`scores` None when they were never computed)."""
    folder = Path(folder)
    config = checkpoint.read_json(folder / "config.json")
    training = checkpoint.read_json(folder / "training.json")
    dataset = config["dataset"]
    streamed = bool(dataset.get("options", {}).get("stream"))
    family = family_of(config)  # "family" (format 2) or "architecture" (format 1)
    label = config.get("label", family)
    args = config["model_args"]
    settings = settings or settings_for(dataset["name"])
    scores = lookup(folder, folder.name, checkpoint.content_hash(folder), settings)
    return {
        "name": folder.name, "dataset": dataset["name"], "label": label,
        "family": family, "streamed": streamed,
        "group": f"{label}, streamed" if streamed else label,
        "knob": args.get("beta", args.get("gamma")), "seed": training.get("seed"),
        "images_seen": training.get("images_seen"),
        "test_mse": training.get("test_metrics", {}).get("mse"), "scores": scores,
    }


def zoo_sweep(dataset: str, zoo_dir: Path | None = None,
              settings: ScoreSettings | None = None) -> tuple[list[dict], list[str]]:
    """(rows of the checkpoints of `dataset` that have cached scores, names that have none), over
    `zoo_dir`, or by default the shipped zoo and the user's checkpoints (names `load` accepts).
    A checkpoint whose files cannot be read is skipped, as `zoo_table` does."""
    rows, unscored = [], []
    for name, folder in _folders(zoo_dir):
        try:
            row = checkpoint_row(folder, settings)
        except (LatentlabError, OSError, KeyError, TypeError):
            continue
        if row["dataset"] != dataset:
            continue
        if row["scores"] is None:
            unscored.append(name)
        else:
            rows.append(row)
    return rows, unscored


def _folders(zoo_dir: Path | None) -> list[tuple[str, Path]]:
    if zoo_dir is None:
        return [(name, path) for name, kind, path in checkpoint.zoo_entries()
                if checkpoint.entry_problem(name, path, kind) is None]
    root = Path(zoo_dir)
    names = sorted(p.name for p in root.iterdir() if (p / "config.json").is_file()
                   and not p.name.startswith(".")) if root.is_dir() else []
    return [(name, root / name) for name in names]


def flat(row: dict) -> dict:
    """A sweep row with its scores merged in (for tables and plots)."""
    out = {k: v for k, v in row.items() if k != "scores"}
    out.update({k: row["scores"][k] for k in SCORE_KEYS})
    out["test_mse"] = row["scores"].get("test_mse", row["test_mse"])
    return out


def summarise(rows: list[dict], keys=SCORE_KEYS + ("test_mse",)) -> list[dict]:
    """Per setting (`group`), over its seeds: n, and median / min / max of each key. Rows are
    flat (see `flat`); groups keep the order in which they first appear."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    out = []
    for group, members in groups.items():
        first = members[0]
        entry = {"group": group, "label": first["label"], "family": first["family"],
                 "streamed": first["streamed"], "knob": first["knob"], "n": len(members),
                 "names": [m["name"] for m in members]}
        for key in keys:
            values = np.array([m[key] for m in members], dtype=np.float64)
            entry[key] = {"median": float(np.median(values)), "min": float(values.min()),
                          "max": float(values.max())}
        out.append(entry)
    return out
