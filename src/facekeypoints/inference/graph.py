"""The graph from uint8 faces to keypoints: network and decoding in one module, which the torch backend
runs and `facekeypoints export` writes to ONNX, so that both backends compute the same thing."""

from __future__ import annotations

import torch
from torch import nn

from ..codecs import Codec
from ..models import flip_offset, normalise


class InferenceGraph(nn.Module):
    """uint8 faces (N, 96, 96) and which of them are in the 4-keypoint convention (N,) -> keypoints (N, 15, 2)
    and each keypoint's heatmap spread (N, 15) (NaN for codecs without one).

    flip: also run the mirrored faces (in the same batch) and average, undoing the labels' flip offset where
    the model learned one (keypointnet's `flip_offset`).
    """

    def __init__(self, module: nn.Module, codec: Codec, flip: bool = False):
        super().__init__()
        self.module, self.codec, self.flip = module, codec, flip

    def forward(self, faces: torch.Tensor, four_point: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = normalise(faces)
        if not self.flip:
            return self.codec.decode(self.module(batch), four_point)
        both = self.module(torch.cat((batch, batch.flip(-1))))
        n = batch.shape[0]
        points, spread = self.codec.decode_heads(both[:n])
        mirrored = self.codec.unflip(self.codec.decode_heads(both[n:])[0], flip_offset(self.module))
        points = (points + mirrored) / 2
        return self.codec.select(points, four_point), self.codec.select(spread.unsqueeze(-1), four_point)[..., 0]
