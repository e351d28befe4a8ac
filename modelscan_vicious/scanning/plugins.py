"""Every attack and detector the scan runs, registered here and nowhere else, in the order they run.

Adding an attack is one module with an `Attack` subclass plus one line below; the pipeline loops over
what is registered and records what did not apply, with the reason.
"""

from __future__ import annotations

from modelscan_vicious.attacks.base import ATTACKS
from modelscan_vicious.attacks.inverse_network import InverseNetworkAttack
from modelscan_vicious.attacks.rmle import RmleAttack
from modelscan_vicious.detectors.base import DETECTORS
from modelscan_vicious.detectors.finetune_distance import FineTuneDistanceDetector

ATTACKS.register(InverseNetworkAttack.name, InverseNetworkAttack.for_budget)
ATTACKS.register(RmleAttack.name, RmleAttack.for_budget)
DETECTORS.register(FineTuneDistanceDetector.name, FineTuneDistanceDetector)

__all__ = ["ATTACKS", "DETECTORS"]
