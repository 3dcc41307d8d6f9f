"""The Python halves of the browser components: the code a set of slider values stands for (the
browser computes the same formulas), the map's point table (row index rides with each point),
and the install check that decides between live decoding and the server path."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.latent.interpolate import lerp, slerp
from latentlab.ui.components import assets
from latentlab.ui.components.live import Slider, code, dim_slider, live_reason, point_on_path
from latentlab.ui.components.scatter import normalise, points_table


def test_code_is_base_plus_value_times_vector():
    rng = np.random.default_rng(0)
    base, v1, v2 = rng.standard_normal((3, 6))
    z = code(base, [Slider("a", 1.5, v1), dim_slider("z2", 2, 6, -0.25)])
    want = base + 1.5 * v1 + np.eye(6)[2] * -0.25
    assert z.dtype == np.float32 and np.allclose(z, want, atol=1e-6)
    assert np.allclose(code(base, [Slider("a", 0.0, v1), dim_slider("z2", 2, 6, 0.0)]), base, atol=1e-6)


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_point_on_path_matches_the_library_paths(method):
    """At t = k/(steps-1) the scrubbed code is row k of latentlab.latent's lerp/slerp."""
    a, b = np.random.default_rng(1).standard_normal((2, 16)).astype(np.float32)
    rows = (slerp if method == "slerp" else lerp)(torch.from_numpy(a), torch.from_numpy(b), 9).numpy()
    for k in range(9):
        assert np.allclose(point_on_path(a, b, k / 8, method), rows[k], atol=1e-5)


def test_point_on_path_slerp_falls_back_like_the_library():
    a = np.ones(4, dtype=np.float32)
    assert np.allclose(point_on_path(a, 2 * a, 0.5, "slerp"), 1.5 * a)  # parallel: a straight line
    assert np.allclose(point_on_path(np.zeros(4), a, 0.25, "slerp"), 0.25 * a)  # a zero code


def test_points_table_keeps_each_points_row():
    rng = np.random.default_rng(2)
    xy = rng.standard_normal((500, 2)) * [3, 1] + [10, -4]
    labels = rng.integers(0, 4, 500)
    table, cats = points_table(xy, labels, True)
    rows = table["row"].to_numpy()
    assert sorted(rows) == list(range(500)) and not np.array_equal(rows, np.arange(500))  # shuffled draw order
    assert np.array_equal(np.asarray(cats)[table["v"].to_numpy()], labels[rows].astype(str))
    pos = normalise(xy)
    assert np.allclose(table[["x", "y"]].to_numpy(), pos[rows])
    assert np.abs(pos).max() <= 0.95 + 1e-6
    # one scale for both axes: distances keep their ratios
    d_xy = np.linalg.norm(xy[0] - xy[1]) / np.linalg.norm(xy[2] - xy[3])
    d_pos = np.linalg.norm(pos[0] - pos[1]) / np.linalg.norm(pos[2] - pos[3])
    assert d_xy == pytest.approx(d_pos, rel=1e-4)


def test_points_table_continuous_values_scale_to_unit_range():
    xy = np.random.default_rng(3).standard_normal((50, 2))
    values = np.linspace(-2, 8, 50)
    table, cats = points_table(xy, values, False)
    assert cats == []
    v, raw, rows = table["v"].to_numpy(), table["value"].to_numpy(), table["row"].to_numpy()
    assert v.min() == 0 and v.max() == pytest.approx(1)
    assert np.allclose(raw, values[rows])


def test_missing_runtime_is_reported_with_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setattr(assets, "REQUIRED", {"live": [tmp_path / "absent.wasm"], "scatter": []})
    monkeypatch.setattr(assets, "HERE", tmp_path)
    message = assets.missing("live")
    assert "npm ci --prefix latentlab/ui/components" in message
    assert assets.missing("scatter") is None


def test_live_can_be_turned_off(monkeypatch):
    model = type("M", (), {"info": type("I", (), {"hash": "ab" * 8})()})()
    monkeypatch.setenv("LATENTLAB_LIVE", "0")
    assert "LATENTLAB_LIVE=0" in live_reason(model)


def test_decoder_route_serves_known_exports_only(tmp_path, monkeypatch):
    """/latentlab/decoder/<hash>.onnx: 404 for an unknown or malformed hash, the file (cached for
    good: the name is the content hash) once its export is done, 500 with the reason if it failed."""
    import asyncio
    from concurrent.futures import Future
    from types import SimpleNamespace

    from latentlab import export

    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / f"{'ab' * 8}.onnx").write_bytes(b"onnx bytes")
    failed: Future = Future()
    failed.set_exception(export.ExportError("does not match torch"))
    monkeypatch.setitem(export._JOBS, "cd" * 8, failed)

    def get(name: str):
        return asyncio.run(assets._decoder(SimpleNamespace(path_params={"name": name})))

    assert get(f"{'ef' * 8}.onnx").status_code == 404
    assert get("..%2F..%2Fetc.onnx").status_code == 404
    assert get(f"{'ab' * 8}.txt").status_code == 404
    ok = get(f"{'ab' * 8}.onnx")
    assert ok.status_code == 200 and "immutable" in ok.headers["cache-control"]
    bad = get(f"{'cd' * 8}.onnx")
    assert bad.status_code == 500 and b"does not match torch" in bad.body
