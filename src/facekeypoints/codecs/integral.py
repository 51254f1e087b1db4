"""Soft-argmax heatmaps (integral regression) with a second set of heads for the 4-keypoint convention."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..keypoints import IMAGE_SIZE
from .base import Codec, cell_centres, gaussian


@dataclass
class IntegralCodec(Codec):
    """Soft-argmax (integral regression, Sun et al. 2018) of coarse heatmap logits: each keypoint is the
    expected cell centre under the softmax of its heatmap, so a 24x24 grid still gives sub-pixel positions,
    and the loss is taken on the coordinates themselves (L1, robust to the data's gross mislabels).

    The network has a head per keypoint of the set, then one more for each of the set's `partial` points: for
    Kaggle's 15, 19 heads, 4 for the 4-keypoint labelling convention. Training sends a face's labels to the
    heads of its convention, known from which keypoints it carries; at prediction the caller says which
    convention it wants (`four_point`). A set without `partial` points has one head per keypoint.
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
        k, partial = self.keypoints, self.keypoint_set.partial
        # Head h's keypoint: the K keypoints, then the second convention's own heads for its points.
        self.head_keypoint = tuple(range(k)) + partial
        extra = {p: k + i for i, p in enumerate(partial)}
        # The heads that answer for the K keypoints in the second (4-keypoint) convention.
        self.four_point_heads = tuple(extra.get(p, p) for p in range(k))
        perm = self.keypoint_set.flip_permutation
        # As tensors, made once: training asks for them every step.
        self._head_keypoint = torch.tensor(self.head_keypoint)
        self._flip_heads = torch.tensor(list(perm) + [extra[perm[p]] for p in partial])
        self._pattern = torch.tensor([p in partial for p in range(k)])

    @property
    def heads(self) -> int:
        return len(self.head_keypoint)

    @property
    def flip_permutation(self) -> torch.Tensor:
        return self._flip_heads

    def is_four_point(self, mask: torch.Tensor) -> torch.Tensor:
        """Which faces carry exactly the second convention's labels (never, for a set without one)."""
        if not self.keypoint_set.partial:
            return torch.zeros(mask.shape[0], dtype=torch.bool, device=mask.device)
        return (mask.bool() == self._pattern.to(mask.device)).all(dim=1)

    def to_heads(self, keypoints, mask):
        """Each face's labels go to the heads of its own convention; the other convention's heads are masked."""
        four = self.is_four_point(mask).unsqueeze(1)
        index = self._head_keypoint.to(keypoints.device)
        points = torch.nan_to_num(keypoints.float())[:, index]
        is_extra = torch.arange(self.heads, device=mask.device) >= self.keypoints
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
        """Per-head points (N, H, 2) and how far each head's probability mass spreads around them (N, H),
        in pixels: about 7 on a face, three times that on a detector's false positive."""
        return self._moments(self.probabilities(output))

    def select(self, per_head, four_point=None):
        """A gather and a `where` (no boolean indexing), so that it exports to ONNX with a dynamic batch."""
        base = per_head[:, : self.keypoints]
        if four_point is None or not self.keypoint_set.partial:
            return base
        four = torch.as_tensor(four_point, device=per_head.device).bool()
        four = four.reshape(-1, *([1] * (per_head.dim() - 1)))
        return torch.where(four, per_head[:, list(self.four_point_heads)], base)

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
