"""The pipeline runs what the registry holds: a new attack is one class plus one registration line."""

from __future__ import annotations

import numpy as np
import pytest

from modelscan_vicious.attacks.base import ATTACKS, Attack, AttackData, AttackNeeds, AttackOutcome
from modelscan_vicious.metrics import per_sample_risk, psnr, ssim

from scan_helpers import HIGH_RISK_GATE, report, scan


class ClassMeanAttack(Attack):
    """A toy black-box attack: each input is guessed as the mean attacker input of its predicted class."""

    name = "class-mean"

    def run(self, oracle, data: AttackData, *, seed: int, model=None) -> AttackOutcome:
        train_classes, eval_classes = oracle(data.train).argmax(1), oracle(data.eval).argmax(1)
        means = {c: data.train[train_classes == c].mean(0) for c in np.unique(train_classes)}
        guesses = np.stack([means.get(c, data.train.mean(0)) for c in eval_classes]).astype(np.float32)
        covariance = data.covariance
        risks = per_sample_risk(data.eval, guesses, covariance)
        return AttackOutcome(guesses, float(risks.mean()), psnr(data.eval, guesses), ssim(data.eval, guesses), risks)


class LogitsOnlyWhiteBoxAttack(Attack):
    name = "logits-only-white-box"
    needs = AttackNeeds(trainable=True, releases=("logits",))

    def run(self, oracle, data, *, seed, model=None):
        raise AssertionError("must not run: the scan releases labels only")


class BrokenAttack(Attack):
    name = "broken"

    def run(self, oracle, data, *, seed, model=None):
        raise RuntimeError("the toy attack broke")


def _scan(tiny_models, labels_csv, aux_npz, tmp_path, *extra: str) -> dict:
    model = tiny_models.vicious_torchscript.path
    scan(
        [model], tmp_path, "--no-containment", "--fail-on-risk", HIGH_RISK_GATE, *extra, labels=labels_csv, aux=aux_npz
    )
    return report(tmp_path, model.stem)


def _plugins(document: dict) -> dict[str, tuple[str, str]]:
    return {p["name"]: (p["status"], p["reason"]) for p in document["plugins"]}


@pytest.mark.slow
def test_a_registered_attack_runs_and_is_reported(tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan):
    with ATTACKS.registered(ClassMeanAttack.name, ClassMeanAttack.for_budget):
        document = _scan(tiny_models, labels_csv, aux_npz, tmp_path)
    attacks = {a["name"]: a for a in document["reconstruction"]["attacks"]}
    assert list(attacks) == ["inverse-network", "class-mean", "rmle"]  # black-box attacks run first
    assert attacks["class-mean"]["n_eval"] == attacks["inverse-network"]["n_eval"]
    assert 0 < attacks["class-mean"]["ssim"] < 1
    assert _plugins(document)["class-mean"] == ("ok", "")
    assert "class-mean" not in ATTACKS  # the block unregistered it


@pytest.mark.slow
def test_attacks_that_cannot_apply_or_fail_are_recorded_and_block_a_pass(
    tiny_models, labels_csv, aux_npz, tmp_path, tiny_scan
):
    with (
        ATTACKS.registered(LogitsOnlyWhiteBoxAttack.name, LogitsOnlyWhiteBoxAttack.for_budget),
        ATTACKS.registered(BrokenAttack.name, BrokenAttack.for_budget),
    ):
        document = _scan(tiny_models, labels_csv, aux_npz, tmp_path, "--release", "label")
    plugins = _plugins(document)
    assert plugins["logits-only-white-box"] == (
        "not-applicable",
        "logits-only-white-box cannot invert the label release",
    )
    assert plugins["broken"] == ("failed", "the toy attack broke")
    assert plugins["inverse-network"] == ("ok", "")
    assert document["verdict"]["status"] != "passed"
    assert any("attack broken failed" in reason for reason in document["verdict"]["reasons"])
