"""The interface every codec implements, and the pieces codecs share (cell centres, one Gaussian).

A codec stands between the labels and the network, in both directions:

    labels (N, K, 2) + mask (N, K) --to_heads--> per-head points (N, H, 2) + mask (N, H)
        --(augmentation works here, in pixels)--> --encode--> targets, weights --loss(output, ...)-->
    network output --decode_heads--> per-head points (N, H, 2), spread (N, H) --select--> (N, K, 2)

K is the codec's keypoint set's size (15 for Kaggle's). "Heads" are what the network predicts a point for:
the K keypoints for most codecs, K plus the set's `partial` points for `IntegralCodec` (Kaggle: 19, a second
set of 4 for the 4-keypoint labelling convention). Because training works on
per-head points in pixels, one augmentation and one flip-averaging path serve every codec.
Coordinates are pixel (x, y) with pixel j's centre at j, as in Kaggle's labels.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any, ClassVar

import torch

from ..keypoints import IMAGE_SIZE, KAGGLE_15, KeypointSet


@dataclasses.dataclass
class Codec:
    """Base class: subclasses are dataclasses whose fields are their settings (saved in checkpoints), the
    keypoint set the model predicts among them (so that a model file says what it predicts)."""

    name: ClassVar[str] = ""
    size: ClassVar[int] = IMAGE_SIZE  # the faces' side in pixels
    keypoint_set: KeypointSet = dataclasses.field(default=KAGGLE_15, kw_only=True)

    @property
    def keypoints(self) -> int:
        """How many keypoints the codec gives (the keypoint set's)."""
        return len(self.keypoint_set)

    # -- which heads the network has
    @property
    def heads(self) -> int:
        return self.keypoints

    @cached_property
    def flip_permutation(self) -> torch.Tensor:
        """(H,): the head that head h becomes on the mirrored face (made once: training asks every step)."""
        return torch.tensor(self.keypoint_set.flip_permutation)

    def config(self) -> dict[str, Any]:
        """What rebuilds this codec (`codec_from_config`): its name and settings, the keypoint set as plain data."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}
        values["keypoint_set"] = self.keypoint_set.to_dict()
        return {"name": self.name, **values}

    # -- training
    def to_heads(self, keypoints: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Labels (N, K, 2), NaN where unlabelled, and mask (N, K) -> the heads' points (N, H, 2), no NaN,
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
        """Anything laid out per head (N, H, ...) -> the keypoints' (N, K, ...), in the 4-keypoint
        labelling convention where `four_point` (bool (N,)) for codecs that know it."""
        return per_head[:, : self.keypoints]

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
        """The heatmaps (N, K, h, w) the network is trained towards for these labels, or None if there are none."""
        return None

    def decode(self, output, four_point: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Network output -> keypoints (N, K, 2) and spread (N, K)."""
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
