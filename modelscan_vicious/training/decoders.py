"""Decoders from a classifier's released outputs back to images: the vicious server's G and our surrogate."""

from __future__ import annotations

import torch
from torch import nn

from modelscan_vicious.release import PROBABILITY_FLOOR


class OutputDecoder(nn.Module):
    """MLP decoder: N released values -> (C, H, W) image in [0, 1] through a sigmoid.

    A fully connected decoder suits the small images this tool targets (8x8 to 32x32) and trains
    in seconds on a CPU; the paper's transposed-conv G is one choice among many for the server.
    """

    def __init__(
        self, n_inputs: int, output_shape: tuple[int, int, int], hidden: int = 512, *, log_input: bool = False
    ) -> None:
        super().__init__()
        self.output_shape = tuple(output_shape)
        # A server receiving probabilities may read them through a floored log, as our surrogate does:
        # the decoder then sees the logits up to a per-row constant instead of saturated probabilities.
        self.log_input = log_input
        n_pixels = output_shape[0] * output_shape[1] * output_shape[2]
        self.net = nn.Sequential(
            nn.Linear(n_inputs, hidden // 2),
            nn.LeakyReLU(0.1),
            nn.Linear(hidden // 2, hidden),
            nn.LeakyReLU(0.1),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.1),
            nn.Linear(hidden, n_pixels),
            nn.Sigmoid(),
        )

    def forward(self, released: torch.Tensor) -> torch.Tensor:
        if self.log_input:
            released = torch.log(released.clamp_min(PROBABILITY_FLOOR))
        return self.net(released).view(-1, *self.output_shape)
