"""Soft-argmax heatmaps (integral regression) with a second set of heads for the 4-keypoint convention."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..keypoints import FLIP_PERMUTATION, FOUR_POINT_PATTERN, IMAGE_SIZE, NUM_KEYPOINTS, PARTIAL_KEYPOINTS
from .base import Codec, cell_centres, gaussian

# Head h's keypoint: the 15 keypoints, then the 4-keypoint convention's own heads for its 4 points.
HEAD_KEYPOINT = tuple(range(NUM_KEYPOINTS)) + PARTIAL_KEYPOINTS
_EXTRA_HEAD = {k: NUM_KEYPOINTS + i for i, k in enumerate(PARTIAL_KEYPOINTS)}
# The heads that answer for the 15 keypoints in the 4-keypoint convention.
FOUR_POINT_HEADS = tuple(_EXTRA_HEAD.get(k, k) for k in range(NUM_KEYPOINTS))
# As tensors, made once: training asks for them every step.
_HEAD_KEYPOINT = torch.tensor(HEAD_KEYPOINT)
_FLIP_HEADS = torch.tensor(list(FLIP_PERMUTATION) + [_EXTRA_HEAD[FLIP_PERMUTATION[k]] for k in PARTIAL_KEYPOINTS])
_FOUR_POINT_PATTERN = torch.tensor(FOUR_POINT_PATTERN)


@dataclass
class IntegralCodec(Codec):
    """Soft-argmax (integral regression, Sun et al. 2018) of coarse heatmap logits: each keypoint is the
    expected cell centre under the softmax of its heatmap, so a 24x24 grid still gives sub-pixel positions,
    and the loss is taken on the coordinates themselves (L1, robust to the data's gross mislabels).

    The network has 19 heads: 15 for the 15-keypoint labelling convention, then 4 for the 4-keypoint one
    (`PARTIAL_KEYPOINTS`). Training sends a face's labels to the heads of its convention, known from which
    keypoints it carries; at prediction the caller says which convention it wants (`four_point`).
    """

    name = "integral"
    size: int = IMAGE_SIZE
    stride: int = 4
    sigma: float = 1.0  # cells: the std of the Gaussian the heatmaps are pulled towards
    shape_weight: float = 0.5

    def __post_init__(self):
        self.size, self.stride = int(self.size), int(self.stride)
        self.sigma, self.shape_weight = float(self.sigma), float(self.shape_weight)
        self.cells = self.size // self.stride

    @property
    def heads(self) -> int:
        return len(HEAD_KEYPOINT)

    @property
    def flip_permutation(self) -> torch.Tensor:
        return _FLIP_HEADS

    def is_four_point(self, mask: torch.Tensor) -> torch.Tensor:
        """Which faces carry exactly the 4-keypoint convention's labels."""
        return (mask.bool() == _FOUR_POINT_PATTERN.to(mask.device)).all(dim=1)

    def to_heads(self, keypoints, mask):
        """Each face's labels go to the heads of its own convention; the other convention's heads are masked."""
        four = self.is_four_point(mask).unsqueeze(1)
        index = _HEAD_KEYPOINT.to(keypoints.device)
        points = torch.nan_to_num(keypoints.float())[:, index]
        is_extra = torch.arange(len(HEAD_KEYPOINT), device=mask.device) >= NUM_KEYPOINTS
        return points, mask.bool()[:, index] & (is_extra == four)

    def encode(self, points, mask):
        return points, mask  # the loss is on the coordinates themselves

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Heatmap logits (N, K, H, W) -> each head's softmax over the cells, float32 (N, K, H, W)."""
        n, k, h, w = output.shape
        return torch.softmax(output.float().reshape(n, k, h * w), dim=-1).reshape(n, k, h, w)

    def heatmaps(self, output):
        return self.probabilities(output)

    def _moments(self, prob: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean position (N, K, 2) and spread, the root of the summed x and y variances (N, K), in pixels."""
        n, k, h, w = prob.shape
        centres = cell_centres(max(h, w), self.stride, prob.device)
        means, variance = [], 0
        for marginal, at in ((prob.sum(dim=2), centres[:w]), (prob.sum(dim=3), centres[:h])):  # x, then y
            mean = (marginal * at).sum(-1, keepdim=True)
            means.append(mean[..., 0])
            variance = variance + (marginal * (at - mean) ** 2).sum(-1)
        return torch.stack(means, dim=-1), variance.sqrt()

    def decode_heads(self, output):
        """Per-head points (N, 19, 2) and how far each head's probability mass spreads around them (N, 19),
        in pixels: about 7 on a face, three times that on a detector's false positive."""
        return self._moments(self.probabilities(output))

    def select(self, per_head, four_point=None):
        """A gather and a `where` (no boolean indexing), so that it exports to ONNX with a dynamic batch."""
        base = per_head[:, :NUM_KEYPOINTS]
        if four_point is None:
            return base
        four = torch.as_tensor(four_point, device=per_head.device).bool()
        four = four.reshape(-1, *([1] * (per_head.dim() - 1)))
        return torch.where(four, per_head[:, list(FOUR_POINT_HEADS)], base)

    def loss(self, output, targets, weights):
        """Mean absolute pixel error over the labelled heads' coordinates, plus `shape_weight` times the
        cross-entropy of each heatmap against a Gaussian of std `sigma` cells at the label.

        The second term keeps each heatmap one peak at the keypoint: the coordinate loss alone is met as
        well by mass spread on both eyes, whose mean happens to land right, and that does not generalise.
        """
        points = targets
        n, k, h, w = output.shape
        log_prob = torch.log_softmax(output.float().reshape(n, k, h * w), dim=-1)
        predicted = self._moments(log_prob.exp().reshape(n, k, h, w))[0]
        weight = weights.to(torch.float32)
        coordinate = ((predicted - points).abs().sum(-1) * weight).sum() / (2 * weight.sum()).clamp(min=1)
        centres = cell_centres(max(h, w), self.stride, output.device)
        target = gaussian(centres[:w], centres[:h], points, self.sigma * self.stride, normalise=True)
        cross_entropy = -(target.reshape(n, k, h * w) * log_prob).sum(-1)
        shape = (cross_entropy * weight).sum() / weight.sum().clamp(min=1)
        return coordinate + self.shape_weight * shape
