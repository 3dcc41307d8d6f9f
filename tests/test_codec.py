"""The learned codec: its entropy model, real bytes that decode back exactly, a byte format that
refuses bad input, checkpoints, and the JPEG/WebP matching the benchmark relies on."""

import numpy as np
import pytest
import torch

from latentlab import checkpoint
from latentlab.codec import Codec, baselines, coder
from latentlab.codec.bitstream import OVERHEAD, CodecError
from latentlab.codec.compare import compare, decode_upload, rates
from latentlab.codec.layers import FactorizedDensity
from latentlab.config import TrainConfig
from latentlab.errors import ConfigError
from latentlab.models import Batch, build_model
from latentlab.train import train

STEPS = [0.5, 1.0, 2.0]


def blobs(n=48, seed=0, channels=3, side=16):
    """Smooth coloured blobs `[N, C, side, side]` in [0, 1]: easy to compress, unlike noise."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(side * 1.0), torch.arange(side * 1.0), indexing="ij")
    centres = torch.rand(n, 2, generator=g) * (side - 6) + 3
    d2 = (xx - centres[:, 0, None, None]) ** 2 + (yy - centres[:, 1, None, None]) ** 2
    colour = torch.rand(n, channels, 1, 1, generator=g)
    return (torch.exp(-d2 / 10).unsqueeze(1) * colour).clamp(0, 1)


def tiny_codec(seed=0, train_steps=30) -> Codec:
    """A 16×16 RGB codec (4×4×4 latent) trained briefly on blobs, tables built, eval mode."""
    torch.manual_seed(seed)
    model = Codec([3, 16, 16], latent_dim=64, width=8, stages=2, lmbda=0.01, steps=STEPS)
    opt = model.make_optimizers(5e-3, 0.0)
    gen = torch.Generator().manual_seed(seed)
    x = blobs()
    for step in range(train_steps):
        model.train_step(Batch(x, torch.arange(len(x))), step, opt, gen)
    model.eval()
    model.evaluate(blobs(8, seed=1))  # builds the tables, as the training loop's last evaluation does
    return model


@pytest.fixture(scope="module")
def model():
    return tiny_codec()


# -- entropy model ------------------------------------------------------------------------------
def test_factorized_density_is_a_distribution_per_channel():
    torch.manual_seed(0)
    density = FactorizedDensity(3)
    grid = torch.arange(-200.0, 201.0).expand(3, 1, -1)
    p = density.bin_probability(grid)
    assert torch.allclose(p.sum(-1).flatten(), torch.ones(3), atol=1e-4)  # unit bins tile the line
    cdf = torch.sigmoid(density.cdf_logits(torch.linspace(-20, 20, 401).expand(3, 1, -1)))
    assert (cdf.diff(dim=-1) >= 0).all()  # monotone


def test_training_lowers_the_rate_distortion_loss():
    before = tiny_codec(train_steps=0)
    after = tiny_codec(train_steps=30)
    x = blobs(16, seed=2)
    batch = Batch(x, torch.arange(16))
    g0, g1 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert after.loss(batch, 0, g1)["loss"] < 0.8 * before.loss(batch, 0, g0)["loss"]


# -- bytes -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("step_index", range(len(STEPS)))
def test_bytes_decode_to_exactly_the_quantised_reconstruction(model, step_index):
    for x in blobs(4, seed=3):
        data = coder.compress(model, x, step_index)
        assert isinstance(data, bytes)
        assert torch.equal(coder.decompress(model, data), coder.quantised_reconstruction(model, x, step_index))


def test_bytes_are_deterministic_and_survive_a_checkpoint_round_trip(model, tmp_path):
    x = blobs(1, seed=4)[0]
    data = coder.compress(model, x)
    assert coder.compress(model, x) == data
    checkpoint.save(model, tmp_path / "c", {"name": "tiny", "options": {}}, {})
    loaded = checkpoint.load(tmp_path / "c")
    assert not loaded.tables_stale
    assert torch.equal(loaded.table_counts, model.table_counts)
    assert coder.compress(loaded, x) == data
    assert torch.equal(coder.decompress(loaded, data), coder.decompress(model, data))


def test_coarser_steps_give_fewer_bytes_and_lower_psnr(model):
    x = blobs(8, seed=5)
    sizes = [np.mean([len(coder.compress(model, xi, s)) for xi in x]) for s in range(len(STEPS))]
    psnrs = [np.mean([baselines.psnr(coder.quantised_reconstruction(model, xi, s), xi) for xi in x])
             for s in range(len(STEPS))]
    assert sizes[0] > sizes[1] > sizes[2]  # steps are 0.5, 1, 2
    assert psnrs[0] > psnrs[2]


def test_coded_size_is_the_ideal_code_length_plus_a_little(model):
    for x in blobs(4, seed=6):
        k = model.quantise(model.analysis(x[None]), model.default_step)
        ideal = float(model.table_bits(k, model.default_step)[0])
        coded = 8 * (len(coder.compress(model, x)) - OVERHEAD)
        assert ideal - 1 <= coded <= ideal + 64  # the range coder's slack: a couple of words


def test_truncated_corrupted_or_padded_bytes_raise_a_codec_error(model):
    data = coder.compress(model, blobs(1, seed=7)[0])
    for n in range(len(data)):
        with pytest.raises(CodecError):
            coder.decompress(model, data[:n])
    for i in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            bad = bytearray(data)
            bad[i] ^= flip
            with pytest.raises(CodecError):
                coder.decompress(model, bytes(bad))
    with pytest.raises(CodecError):
        coder.decompress(model, data + b"\0")
    with pytest.raises(CodecError, match="expected bytes"):
        coder.decompress(model, "not bytes")


def test_bytes_from_another_checkpoint_are_refused(model):
    other = tiny_codec(seed=1, train_steps=2)
    with pytest.raises(CodecError, match="another codec checkpoint"):
        coder.decompress(other, coder.compress(model, blobs(1)[0]))


def test_images_the_codec_cannot_code_are_refused(model):
    for bad in (torch.rand(1, 16, 16), torch.rand(3, 18, 16), torch.rand(3, 16, 16) * 2,
                torch.full((3, 16, 16), float("nan")), torch.rand(2, 3, 16, 16)):
        with pytest.raises(CodecError):
            coder.compress(model, bad)
    with pytest.raises(CodecError, match="step index"):
        coder.compress(model, torch.rand(3, 16, 16), 7)


def test_the_codec_is_fully_convolutional(model):
    x = torch.rand(3, 32, 48)
    assert torch.equal(coder.decompress(model, coder.compress(model, x)),
                       coder.quantised_reconstruction(model, x))


# -- model family -------------------------------------------------------------------------------
def test_codec_is_a_registered_family_with_the_uniform_surface(model):
    built = build_model("codec", **model.model_args())
    assert isinstance(built, Codec) and built.prior is None and not built.has_prior
    x = blobs(2, seed=8)
    z = model.encode(x)
    assert z.shape == (2, model.latent_dim) and model.decode(z).shape == x.shape
    assert torch.equal(model.reconstruct(x[:1])[0], coder.quantised_reconstruction(model, x[0]))
    assert torch.equal(model.decode(model.encode(x)), model.reconstruct(x))  # as for every family


@pytest.mark.parametrize("args", [dict(latent_dim=65), dict(steps=[0.5, 2.0]), dict(stages=5),
                                  dict(lmbda=0.0)])
def test_bad_codec_configs_are_config_errors(args):
    full = dict(image_shape=[3, 16, 16], latent_dim=64, width=8, stages=2) | args
    with pytest.raises(ConfigError):
        build_model("codec", **full)


def test_trained_through_the_loop_and_saved_with_tables(tiny_data, tmp_path):
    cfg = TrainConfig.from_dict({
        "name": "tiny_codec", "data": {"name": "tiny"},
        "model": {"family": "codec", "latent_dim": 32, "args": {"width": 8, "stages": 2, "steps": STEPS}},
        "epochs": 1, "batch_size": 16, "lr": 1e-3, "seed": 0})
    result = train(cfg, out_dir=tmp_path, data=tiny_data, allow_collapse=True)  # a 1-epoch smoke model
    assert result.status == "completed" and result.test_metrics["bpp"] > 0
    loaded = checkpoint.load(result.path)
    assert torch.equal(loaded.table_counts, result.model.table_counts)
    assert (loaded.table_counts >= 1).all()
    x = tiny_data.x_test[0]
    assert torch.equal(coder.decompress(loaded, coder.compress(result.model, x)),
                       coder.quantised_reconstruction(loaded, x))


# -- baselines and the page API ------------------------------------------------------------------
def test_jpeg_and_webp_matching_takes_the_largest_file_within_budget():
    x = baselines.eight_bit(blobs(1, side=64)[0])
    for fmt in baselines.FORMATS:
        ladder = baselines.ladder(x, fmt)
        budget = int(np.median([c.n_bytes for c in ladder]))
        match = baselines.at_most(ladder, budget)
        assert match.n_bytes <= budget
        assert all(c.n_bytes > budget or c.n_bytes <= match.n_bytes for c in ladder)
        assert baselines.at_most(ladder, 20) is None  # no JPEG or WebP file is this small
        assert match.image.shape == x.shape


def test_compare_gives_bytes_that_decode_and_baselines_within_budget(model):
    x = blobs(1, seed=9)[0]
    steps = [s for _, s in rates(model)]
    assert steps == sorted(steps)
    result = compare(model, x)
    assert torch.equal(baselines.eight_bit(decode_upload(model, result.data)), result.decoded)
    rows = {r["method"].split(" ")[0]: r for r in result.rows()}
    assert rows["learned"]["bytes"] == result.n_bytes
    for name, c in (("JPEG", result.jpeg), ("WebP", result.webp)):
        assert c is None or c.n_bytes <= result.n_bytes
        assert (rows[name]["bytes"] is None) == (c is None)
    assert 0 < rows["learned"]["ssim"] <= 1 and rows["learned"]["psnr"] > 10
