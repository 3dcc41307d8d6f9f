"""ONNX export of decoders: every registered family's export decodes like torch (within 1e-4) on
random codes and batch sizes it was not traced with; exports are cached by content hash."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab import export
from latentlab.models.registry import FAMILIES, build_model

ort = pytest.importorskip("onnxruntime")

# A family whose constructor constrains the shape or latent size gets its own small case here; a
# family registered later that the default case does not fit fails its test saying why (never
# silently skipped). codec: sides divisible by 2^stages, latent_dim = channels x 4 x 4.
FAMILY_CASES: dict[str, tuple[list[int], dict]] = {"codec": ([1, 32, 32], {"latent_dim": 32, "width": 8})}
EXTRA_ARGS: dict[str, dict] = {"glo": {"n_codes": 16}}  # GLO: one learned code per training image
SHAPES = {"mnist-like conv": ([1, 28, 28], {"arch": "conv", "width": 8}),
          "faces-like conv": ([3, 64, 64], {"arch": "conv", "width": 8}),
          "mlp": ([1, 16, 16], {"arch": "mlp", "width": 32})}


def make(family: str, shape: list[int], arch_args: dict):
    """A small untrained model of `family`; architecture arguments only where the family takes them."""
    import inspect

    accepted = inspect.signature(FAMILIES[family]).parameters
    args = {"image_shape": shape, "latent_dim": 6, **EXTRA_ARGS.get(family, {})}
    args.update({k: v for k, v in arch_args.items() if k in accepted or k == "latent_dim"})
    torch.manual_seed(0)
    model = build_model(family, **args)
    if getattr(model, "closed_form", False):
        model.fit(torch.rand(64, *shape))
    return model.eval()


def run_onnx(path, z: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run([export.OUTPUT], {export.INPUT: z})[0]


# Every registered family once; the decoder architectures (shared by the AE family and its
# subclasses) on the other shapes through "ae". Each export takes seconds, so not the full product.
CASES = [(f, "mnist-like conv") for f in sorted(FAMILIES)] + [("ae", "faces-like conv"), ("ae", "mlp")]


@pytest.mark.parametrize(("family", "shape"), CASES)
def test_export_matches_torch(family, shape, tmp_path):
    case = FAMILY_CASES.get(family) if shape == "mnist-like conv" else None
    model = make(family, *(case or SHAPES[shape]))
    path = export.export_decoder(model, tmp_path / "decoder.onnx")
    rng = np.random.default_rng(1)
    for n in (1, 5):  # traced with a batch of 2: the batch axis must be dynamic
        z = (2.5 * rng.standard_normal((n, model.latent_dim))).astype(np.float32)
        with torch.inference_mode():
            want = model.decode(torch.from_numpy(z)).numpy()
        got = run_onnx(path, z)
        assert got.shape == want.shape == (n, *model.image_shape)
        assert np.abs(got - want).max() <= 1e-4, f"{family}: max |onnx - torch| {np.abs(got - want).max():.2e}"
        assert want.std() > 0, "a constant decoder would make the comparison meaningless"


def test_export_is_cached_by_content_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))
    model = make("ae", *SHAPES["mlp"])
    model.info = type("Info", (), {"hash": "ab" * 16, "name": "tiny"})()
    first = export.decoder_onnx(model)
    assert first == tmp_path / "onnx" / f"{'ab' * 16}.onnx" and first.exists()
    stamp = first.stat().st_mtime_ns
    assert export.decoder_onnx(model) == first and first.stat().st_mtime_ns == stamp  # not redone
    assert export.find_export("ab" * 16).result() == first
    assert export.find_export("cd" * 16) is None  # an unknown checkpoint
    assert list((tmp_path / "onnx").iterdir()) == [first]  # no temporary left behind


def test_bad_hash_is_refused():
    for bad in ("../../etc/passwd", "ABC", "", "zz" * 10):
        with pytest.raises(export.ExportError):
            export.cache_path(bad)


def test_zoo_checkpoint_exports_and_matches(tmp_path, monkeypatch):
    """One shipped checkpoint end to end (load -> cached export -> onnxruntime)."""
    import latentlab
    from latentlab.checkpoint import zoo_names

    if "mnist_vae" not in zoo_names():
        pytest.skip("mnist_vae is not in the zoo")
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))
    model = latentlab.load("mnist_vae")
    path = export.start_export(model).result(timeout=300)
    z = np.random.default_rng(2).standard_normal((8, model.latent_dim)).astype(np.float32)
    with torch.inference_mode():
        want = model.decode(torch.from_numpy(z)).numpy()
    assert np.abs(run_onnx(path, z) - want).max() <= 1e-4


class _Odd:
    """Decoders an export must refuse (each defines decode on a tiny LatentModel)."""

    @staticmethod
    def noisy(self, z):  # traces, but the graph's random numbers differ from torch's
        return torch.sigmoid(z[:, :4].view(-1, *self.image_shape)) + 0.1 * torch.rand(len(z), *self.image_shape)

    @staticmethod
    def branchy(self, z):  # Python control flow on a value: not traceable for every z
        if float(z.sum()) > 0:
            return torch.sigmoid(z[:, :4].view(-1, *self.image_shape))
        return torch.zeros(len(z), *self.image_shape)


@pytest.mark.parametrize("kind", ["noisy", "branchy"])
def test_bad_decoders_are_refused_with_a_clear_error(kind, tmp_path):
    """An export that fails, or that runs but decodes differently from torch, raises ExportError
    (the browser then keeps the server path) and leaves no file."""
    from latentlab.models.base import LatentModel

    odd = type("Odd", (LatentModel,), {"decode": getattr(_Odd, kind)})
    model = odd((1, 2, 2), 4).eval()
    with pytest.raises(export.ExportError, match="does not match torch|cannot export the decoder"):
        export.export_decoder(model, tmp_path / "bad.onnx")
    assert not any(tmp_path.iterdir())
