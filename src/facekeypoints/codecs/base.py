"""The interface every codec implements, and the pieces codecs share (cell centres, one Gaussian).

A codec stands between the labels and the network, in both directions:

    labels (N, 15, 2) + mask (N, 15) --to_heads--> per-head points (N, H, 2) + mask (N, H)
        --(augmentation works here, in pixels)--> --encode--> targets, weights --loss(output, ...)-->
    network output --decode_heads--> per-head points (N, H, 2), spread (N, H) --select--> (N, 15, 2)

"Heads" are what the network predicts a point for: the 15 keypoints for most codecs, 19 for
`IntegralCodec` (a second set of 4 for the 4-keypoint labelling convention). Because training works on
per-head points in pixels, one augmentation and one flip-averaging path serve every codec.
Coordinates are pixel (x, y) with pixel j's centre at j, as in Kaggle's labels.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import torch

from ..keypoints import FLIP_PERMUTATION, IMAGE_SIZE, NUM_KEYPOINTS

_FLIP_PERMUTATION = torch.tensor(FLIP_PERMUTATION)  # made once: training asks for it every step


class Codec:
    """Base class: subclasses are dataclasses whose fields are their settings (saved in checkpoints)."""

    name: ClassVar[str] = ""
    size: int = IMAGE_SIZE  # the faces' side in pixels

    # -- which heads the network has
    @property
    def heads(self) -> int:
        return NUM_KEYPOINTS

    @property
    def flip_permutation(self) -> torch.Tensor:
        """(H,): the head that head h becomes on the mirrored face."""
        return _FLIP_PERMUTATION

    def config(self) -> dict[str, Any]:
        """What rebuilds this codec (`codec_from_config`): its name and settings."""
        return {"name": self.name, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}}

    # -- training
    def to_heads(self, keypoints: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Labels (N, 15, 2), NaN where unlabelled, and mask (N, 15) -> the heads' points (N, H, 2), no NaN,
        and which of them are labelled (N, H) bool."""
        return torch.nan_to_num(keypoints.float()), mask.bool()

    def encode(self, points: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The heads' points and mask -> (targets, weights) for `loss`."""
        raise NotImplementedError

    def loss(self, output, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """A scalar loss of the network's output against `encode`'s targets; unlabelled heads count nothing."""
        raise NotImplementedError

    # -- prediction
    def decode_heads(self, output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Network output -> per-head points (N, H, 2) float32 and spread (N, H): how far the head's
        probability mass spreads around its point, in pixels (NaN where the codec has no such measure)."""
        raise NotImplementedError

    def select(self, per_head: torch.Tensor, four_point: torch.Tensor | None = None) -> torch.Tensor:
        """Anything laid out per head (N, H, ...) -> the 15 keypoints' (N, 15, ...), in the 4-keypoint
        labelling convention where `four_point` (bool (N,)) for codecs that know it."""
        return per_head[:, :NUM_KEYPOINTS]

    def unflip(self, points: torch.Tensor, flip_offset: torch.Tensor | None = None) -> torch.Tensor:
        """Per-head points predicted on mirrored faces -> points on the faces themselves.

        flip_offset (H,): how far right of the mirror image each head's labels sit (a model may learn it;
        zero otherwise). Head j on the face is head perm[j] on its mirror image."""
        perm = self.flip_permutation.to(points.device)
        points = points[:, perm]
        x = (self.size - 1) - points[..., 0]
        if flip_offset is not None:
            x = x + flip_offset.to(points.device)[perm]
        return torch.stack((x, points[..., 1]), dim=-1)

    def heatmaps(self, output) -> torch.Tensor | None:
        """The network output as per-head heatmaps (N, H, h, w) to look at, or None if it is not heatmaps."""
        return None

    def target_heatmaps(self, keypoints: torch.Tensor, mask: torch.Tensor) -> torch.Tensor | None:
        """The heatmaps (N, 15, h, w) the network is trained towards for these labels, or None if there are none."""
        return None

    def decode(self, output, four_point: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Network output -> keypoints (N, 15, 2) and spread (N, 15)."""
        points, spread = self.decode_heads(output)
        return self.select(points, four_point), self.select(spread.unsqueeze(-1), four_point)[..., 0]


def cell_centres(cells: int, stride: int, device=None) -> torch.Tensor:
    """Pixel coordinate of the centre of each of `cells` heatmap cells of `stride` pixels (pixel j at j)."""
    return torch.arange(cells, device=device, dtype=torch.float32) * stride + (stride - 1) / 2


def gaussian(xs: torch.Tensor, ys: torch.Tensor, points: torch.Tensor, sigma: float,
             normalise: bool = False) -> torch.Tensor:
    """A 2-D Gaussian of std `sigma` pixels at each point (..., 2), sampled at positions xs (W,) and ys (H,):
    (..., H, W). Separable: one 1-D Gaussian per axis, multiplied. Peak 1, or summing to 1 if `normalise`."""
    scale = 2 * sigma**2
    along = []
    for at, coordinate in ((xs, points[..., 0:1]), (ys, points[..., 1:2])):
        exponent = -((at - coordinate) ** 2) / scale
        along.append(torch.softmax(exponent, dim=-1) if normalise else torch.exp(exponent))
    gx, gy = along
    return gy.unsqueeze(-1) * gx.unsqueeze(-2)
