"""SampleRef (the one name of a sample) and exported view states replayed to the same image."""

import json

import numpy as np
import pytest
import torch

import latentlab
from latentlab import render
from latentlab.cli import main as cli
from latentlab.replay import ReplayError, ViewState, render_state
from latentlab.sample import SampleError, SampleRef


@pytest.mark.parametrize("ref", [SampleRef.test(12), SampleRef.upload("my cat: 2.png"),
                                 SampleRef.of_code(np.float32([0.1, -2.5, 1e-7, 3.0]))])
def test_sample_refs_round_trip_through_their_url_form(ref):
    assert SampleRef.parse(ref.param) == ref


@pytest.mark.parametrize("text,fragment", [
    ("12", "kind:value"), ("test:-1", "non-negative"), ("test:1e3", "non-negative"),
    ("upload:", "1-200"), ("code:1,x", "numbers"), ("code:inf", "finite"), ("pixel:3", "unknown sample kind"),
])
def test_malformed_refs_say_what_is_wrong(text, fragment):
    with pytest.raises(SampleError, match=fragment):
        SampleRef.parse(text)


def test_resolve_checks_the_ref_exists_for_this_checkpoint():
    model = latentlab.load("mnist_pca")
    x = torch.rand(5, 1, 28, 28)
    image, z = SampleRef.test(4).resolve(model, x, {})
    assert torch.equal(image, x[4:5]) and np.allclose(z, model.encode(x[4:5])[0].numpy())
    assert SampleRef.of_code(np.zeros(model.latent_dim)).resolve(model, x, {})[0] is None
    for bad in (SampleRef.test(5), SampleRef.upload("nope.png"), SampleRef.of_code([1.0, 2.0])):
        with pytest.raises(SampleError):
            bad.resolve(model, x, {})


def test_replay_redraws_the_exported_png_and_refuses_a_changed_checkpoint(tmp_path):
    model = latentlab.load("mnist_vae")
    torch.manual_seed(0)
    z = torch.randn(1, model.latent_dim).numpy().astype(np.float32)
    torch.set_num_threads(1)  # the app decodes with one thread
    with torch.inference_mode():
        png = render.png(model.decode(torch.as_tensor(z)), px=512)
    state = ViewState.of("edit", model, "test:3", z[0], z, {"dims": {"2": 1.0}})
    path = tmp_path / "state.json"
    path.write_text(state.to_json())
    assert cli(["replay", str(path), "--out", str(tmp_path / "x.png")]) == 0
    assert (tmp_path / "x.png").read_bytes() == png
    raw = json.loads(path.read_text())
    raw["checkpoint"]["hash"] = "0" * 16
    path.write_text(json.dumps(raw))
    with pytest.raises(ReplayError, match="has changed"):
        render_state(ViewState.parse(path.read_text()), model)
    assert cli(["replay", str(path), "--out", str(tmp_path / "y.png")]) == 2
    assert not (tmp_path / "y.png").exists()


@pytest.mark.parametrize("text", [b"", b"[]", b"{\"latentlab_state\": 2}", b"{" * 100000,
                                  b'{"latentlab_state": 1, "checkpoint": {"name": "a", "hash": "b"}, "result": [[1, NaN]]}'])
def test_malformed_state_files_are_refused(text):
    with pytest.raises(ReplayError):
        ViewState.parse(text)
