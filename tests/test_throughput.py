"""Training throughput is measured in-process (no subprocess) and leaves the thread count alone."""

import json

import torch

from latentlab.bench import throughput


def test_train_speed_times_each_config_and_restores_threads(tmp_path, monkeypatch):
    for name, family in (("t_ae", "ae"), ("t_pca", "pca")):
        (tmp_path / f"{name}.json").write_text(json.dumps({
            "name": name, "data": {"name": "shapes", "options": {"size": 16}},
            "model": {"family": family, "latent_dim": 2, "args": {"width": 4} if family == "ae" else {}}}))
    monkeypatch.setattr(throughput, "CONFIGS", tmp_path)
    before, seen = torch.get_num_threads(), []
    result = throughput.train_speed(threads=1, steps=2, batch=8, report=seen.append)
    assert torch.get_num_threads() == before
    assert [r["name"] for r in result["rows"]] == ["t_ae", "t_pca"] and seen == result["rows"]
    assert result["rows"][0]["images_per_second"] > 0 and result["rows"][1]["fit_seconds_4000"] >= 0
    assert result["threads"] == 1 and result["batch"] == 8
