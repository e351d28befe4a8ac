"""Joint F + G training (Algorithm 1): who follows which loss, and what the session fixtures leak."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modelscan_vicious.loading import load_model
from modelscan_vicious.metrics import psnr
from modelscan_vicious.training.decoders import OutputDecoder
from modelscan_vicious.training.joint_training import (
    JointTrainingConfig,
    reconstruction_loss,
    released,
    train_jointly,
)

SHAPE = (1, 8, 8)


def _one_step(beta_c: float, beta_r: float) -> tuple[dict, dict, dict]:
    """Initial F weights, then F and G after one joint step on one fixed batch of 16 images."""
    from modelscan_vicious.training.architectures import build_classifier

    rng = np.random.default_rng(0)
    images = rng.random((16, *SHAPE), dtype=np.float32)
    labels = rng.integers(0, 10, size=16)
    torch.manual_seed(0)
    classifier = build_classifier("mlp", SHAPE, 10)
    decoder = OutputDecoder(10, SHAPE)
    initial = {k: v.clone() for k, v in classifier.state_dict().items()}
    config = JointTrainingConfig(beta_c=beta_c, beta_r=beta_r, epochs=1, batch_size=16, lr=1e-2, seed=0)
    train_jointly(classifier, decoder, images, labels, config)
    return initial, classifier.state_dict(), decoder.state_dict()


def _max_diff(a: dict, b: dict) -> float:
    return max(float((a[k].float() - b[k].float()).abs().max()) for k in a)


def test_reconstruction_term_reaches_the_classifier():
    init_h, f_honest, g_honest = _one_step(beta_c=1.0, beta_r=0.0)
    init_v, f_vicious, g_vicious = _one_step(beta_c=1.0, beta_r=1.0)
    assert _max_diff(init_h, init_v) == 0.0  # same seed, same starting point
    assert _max_diff(f_honest, init_h) > 0  # both trained...
    assert _max_diff(f_honest, f_vicious) > 1e-4  # ...and beta_r changed F's update
    # G follows L_R alone, whatever beta_r: F's outputs were identical in this first step.
    assert _max_diff(g_honest, g_vicious) == 0.0


def test_reconstruction_alone_moves_the_classifier():
    initial, f_rec_only, _ = _one_step(beta_c=0.0, beta_r=1.0)
    assert _max_diff(f_rec_only, initial) > 1e-4
    initial, f_no_loss, g_no_loss = _one_step(beta_c=0.0, beta_r=0.0)
    assert _max_diff(f_no_loss, initial) == 0.0  # nothing drives F...
    _, _, g_rec_only = _one_step(beta_c=0.0, beta_r=1.0)
    assert _max_diff(g_no_loss, g_rec_only) == 0.0  # ...while G learns exactly the same


def test_on_epoch_reports_every_epoch_with_finite_loss():
    torch.manual_seed(0)
    from modelscan_vicious.training.architectures import build_classifier

    seen: list[tuple[int, float]] = []
    images = np.random.default_rng(0).random((20, *SHAPE), dtype=np.float32)
    config = JointTrainingConfig(beta_r=1.0, epochs=3, batch_size=8, input_noise=0.1, label_smoothing=0.1)
    train_jointly(
        build_classifier("mlp", SHAPE, 10),
        OutputDecoder(10, SHAPE),
        images,
        np.arange(20) % 10,
        config,
        on_epoch=lambda e, loss: seen.append((e, loss)),
    )
    assert [e for e, _ in seen] == [0, 1, 2]
    assert all(np.isfinite(loss) and loss > 0 for _, loss in seen)


def test_released_outputs_and_reconstruction_loss():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    assert torch.equal(released(logits, "logits"), logits)
    assert torch.allclose(released(logits, "softmax").sum(), torch.tensor(1.0))
    loss = reconstruction_loss(JointTrainingConfig(), SHAPE)
    x = torch.rand(4, *SHAPE, generator=torch.Generator().manual_seed(0))
    assert float(loss(x, x)) == pytest.approx(0.0, abs=1e-5)
    assert float(loss(x.flip(0), x)) > 0.05


def test_decoder_maps_outputs_to_unit_range_images():
    decoder = OutputDecoder(10, (3, 4, 4))
    with torch.no_grad():
        images = decoder(torch.randn(5, 10) * 50)
    assert images.shape == (5, 3, 4, 4)
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0


def test_log_input_decoder_reads_probabilities_through_the_attackers_floored_log():
    from modelscan_vicious.release import PROBABILITY_FLOOR

    torch.manual_seed(0)
    log_decoder = OutputDecoder(3, (1, 2, 2), log_input=True)
    raw_decoder = OutputDecoder(3, (1, 2, 2))
    raw_decoder.load_state_dict(log_decoder.state_dict())  # same weights, only the input differs
    probabilities = torch.tensor([[0.7, 0.3, 0.0], [0.2, 0.5, 0.3]])
    with torch.no_grad():
        expected = raw_decoder(torch.log(probabilities.clamp_min(PROBABILITY_FLOOR)))
        assert torch.equal(log_decoder(probabilities), expected)
        assert not torch.allclose(raw_decoder(probabilities), expected)


def _decoder_psnr(model, digits_splits) -> float:
    suspect = load_model(model.path)
    decoder = torch.jit.load(str(model.decoder_path))
    test = digits_splits.test.images
    with torch.no_grad():
        reconstructions = decoder(torch.from_numpy(suspect.predict(test))).numpy()
    return psnr(test, reconstructions)


def test_session_fixtures_vicious_decoder_beats_honest(tiny_models, digits_splits):
    """The property the scanner looks for: the same recipe plus beta_r > 0 leaks more of the input."""
    honest = _decoder_psnr(tiny_models.honest_onnx, digits_splits)
    vicious = _decoder_psnr(tiny_models.vicious_onnx, digits_splits)
    assert vicious > honest + 0.5, f"decoder PSNR honest {honest:.2f} dB, vicious {vicious:.2f} dB"  # 14.8 vs 16.4
    assert tiny_models.honest_onnx.test_accuracy > 0.9 and tiny_models.vicious_onnx.test_accuracy > 0.85


def test_within_class_share_is_zero_for_class_constant_logits_and_differentiable():
    from modelscan_vicious.training.joint_training import within_class_share

    labels = torch.tensor([0, 0, 1, 1])
    constant = torch.tensor([[2.0, 0.0], [2.0, 0.0], [0.0, 3.0], [0.0, 3.0]], requires_grad=True)
    assert within_class_share(constant, labels).item() == pytest.approx(0.0, abs=1e-6)
    spread = torch.tensor([[2.0, 0.0], [1.0, 1.0], [0.0, 3.0], [1.0, 2.0]], requires_grad=True)
    share = within_class_share(spread, labels)
    share.backward()
    assert 0.0 < share.item() < 1.0 and spread.grad.abs().sum() > 0
