"""Keypoint codecs: how pixel coordinates become training targets and network outputs become coordinates.

Kept apart from the networks (as mmpose does): a heatmap network and its decoder can change independently,
and a checkpoint names its codec so that predictions decode the way the model was trained.
Coordinates are pixel (x, y) with pixel j's centre at j, as in Kaggle's labels.
"""

from __future__ import annotations

from typing import Any

import torch

from .keypoints import FLIP_PERMUTATION, FOUR_POINT_PATTERN, IMAGE_SIZE, NUM_KEYPOINTS, PARTIAL_KEYPOINTS


class CoordinateCodec:
    """The network outputs pixel coordinates directly (e.g. the mean shape)."""

    name = "coordinates"

    def config(self) -> dict[str, Any]:
        return {"name": self.name}

    def decode(self, output: torch.Tensor) -> torch.Tensor:
        return output.reshape(output.shape[0], -1, 2)


class RegressionCodec:
    """The network regresses coordinates divided by the image size (30 numbers in about [0, 1])."""

    name = "regression"

    def config(self) -> dict[str, Any]:
        return {"name": self.name}

    def decode(self, output: torch.Tensor) -> torch.Tensor:
        return output.reshape(output.shape[0], -1, 2) * IMAGE_SIZE

    def loss(self, output: torch.Tensor, keypoints: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """MSE over labelled normalised coordinates; unlabelled ones contribute nothing."""
        pred = output.reshape(keypoints.shape)
        target = torch.nan_to_num(keypoints) / IMAGE_SIZE
        weight = mask.unsqueeze(-1).expand_as(pred).to(pred.dtype)
        return ((pred - target) ** 2 * weight).sum() / weight.sum().clamp(min=1)


class HeatmapCodec:
    """One 2-D Gaussian per keypoint (peak 1 at the keypoint, std `sigma` pixels); keypoint = the peak.

    decoder "argmax": the hottest cell, as the original hourglass project did (integer pixels).
    decoder "subpixel": refines the argmax with a parabola through the log-heatmap at the peak and its
    neighbours, along x and y; for a Gaussian peak that is exact.
    """

    name = "heatmap"

    def __init__(self, sigma: float = 2.0, size: int = IMAGE_SIZE, stride: int = 1, decoder: str = "argmax"):
        if decoder not in ("argmax", "subpixel"):
            raise ValueError(f"unknown heatmap decoder {decoder!r}")
        self.sigma, self.size, self.stride, self.decoder = float(sigma), int(size), int(stride), decoder
        self.cells = self.size // self.stride

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "sigma": self.sigma, "size": self.size, "stride": self.stride,
                "decoder": self.decoder}

    def encode(self, keypoints: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Target heatmaps (N, K, H, W) of keypoints (N, K, 2); unlabelled keypoints get all zeros."""
        centres = cell_centres(self.cells, self.stride, keypoints.device)
        points = torch.nan_to_num(keypoints.float())
        gx = torch.exp(-((centres - points[..., 0:1]) ** 2) / (2 * self.sigma**2))  # (N, K, W)
        gy = torch.exp(-((centres - points[..., 1:2]) ** 2) / (2 * self.sigma**2))  # (N, K, H)
        heatmaps = gy.unsqueeze(-1) * gx.unsqueeze(-2)
        return heatmaps * mask.to(heatmaps.dtype)[..., None, None]

    def decode(self, heatmaps: torch.Tensor) -> torch.Tensor:
        n, k, h, w = heatmaps.shape
        flat = heatmaps.reshape(n, k, h * w)
        index = flat.argmax(dim=-1)
        iy, ix = index // w, index % w
        x, y = ix.to(torch.float32), iy.to(torch.float32)
        if self.decoder == "subpixel":
            logs = torch.log(heatmaps.float().clamp(min=1e-10))
            x = x + _parabola_peak(logs, iy, ix, axis=-1)
            y = y + _parabola_peak(logs, iy, ix, axis=-2)
        return torch.stack((x, y), dim=-1) * self.stride + (self.stride - 1) / 2

    def loss(self, output: torch.Tensor | list[torch.Tensor], keypoints: torch.Tensor, mask: torch.Tensor):
        """Mean squared error per heatmap, averaged over labelled keypoints only (unlabelled: masked out).

        A list of outputs (stacked hourglasses) is intermediate supervision: each stack gets the loss.
        """
        outputs = output if isinstance(output, (list, tuple)) else [output]
        target = self.encode(keypoints, mask)
        weight = mask.to(target.dtype)
        total = 0.0
        for out in outputs:
            per_map = ((out - target) ** 2).mean(dim=(-2, -1))
            total = total + (per_map * weight).sum() / weight.sum().clamp(min=1)
        return total


def _parabola_peak(logs: torch.Tensor, iy: torch.Tensor, ix: torch.Tensor, axis: int) -> torch.Tensor:
    """Offset in [-0.5, 0.5] of the vertex of the parabola through the peak and its two neighbours."""
    n, k, h, w = logs.shape
    size = w if axis == -1 else h
    centre = ix if axis == -1 else iy
    lo, hi = (centre - 1).clamp(min=0), (centre + 1).clamp(max=size - 1)
    flat = logs.reshape(n, k, h * w)

    def at(y, x):
        return flat.gather(-1, (y * w + x).unsqueeze(-1)).squeeze(-1)

    if axis == -1:
        left, mid, right = at(iy, lo), at(iy, ix), at(iy, hi)
    else:
        left, mid, right = at(lo, ix), at(iy, ix), at(hi, ix)
    curvature = left - 2 * mid + right
    offset = torch.where(curvature < -1e-6, 0.5 * (left - right) / curvature, torch.zeros_like(mid))
    inside = (centre > 0) & (centre < size - 1)
    return torch.where(inside, offset.clamp(-0.5, 0.5), torch.zeros_like(offset))


class IntegralCodec:
    """Soft-argmax (integral regression, Sun et al. 2018) of coarse heatmap logits: each keypoint is the
    expected cell centre under the softmax of its heatmap, so a 24x24 grid still gives sub-pixel positions,
    and the loss is taken on the coordinates themselves (L1, robust to the data's gross mislabels).

    The network has 19 heads: 15 for the 15-keypoint labelling convention, then 4 for the 4-keypoint one
    (`PARTIAL_KEYPOINTS`). Training sends a face's labels to the heads of its convention, known from which
    keypoints it carries; at prediction the caller says which convention it wants (`four_point`).
    """

    name = "integral"

    def __init__(self, size: int = IMAGE_SIZE, stride: int = 4, sigma: float = 1.0, shape_weight: float = 0.5):
        self.size, self.stride = int(size), int(stride)
        self.sigma, self.shape_weight = float(sigma), float(shape_weight)
        self.cells = self.size // self.stride
        partial = list(PARTIAL_KEYPOINTS)
        # Head h's keypoint, and the head a keypoint moves to when the face is mirrored.
        self.head_keypoint = torch.tensor(list(range(NUM_KEYPOINTS)) + partial)
        extra = {k: NUM_KEYPOINTS + i for i, k in enumerate(partial)}
        self.flip_permutation = torch.tensor(
            list(FLIP_PERMUTATION) + [extra[FLIP_PERMUTATION[k]] for k in partial])

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "size": self.size, "stride": self.stride, "sigma": self.sigma,
                "shape_weight": self.shape_weight}

    def is_four_point(self, mask: torch.Tensor) -> torch.Tensor:
        """Which faces carry exactly the 4-keypoint convention's labels."""
        return (mask.bool() == torch.tensor(FOUR_POINT_PATTERN, device=mask.device)).all(dim=1)

    def targets(self, keypoints: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 15, 2) labels and (N, 15) mask -> per-head points (N, 19, 2) and mask (N, 19)."""
        four = self.is_four_point(mask).unsqueeze(1)
        index = self.head_keypoint.to(keypoints.device)
        points = torch.nan_to_num(keypoints.float())[:, index]
        head_mask = mask.bool()[:, index]
        is_extra = torch.arange(len(index), device=mask.device) >= NUM_KEYPOINTS
        head_mask = head_mask & (is_extra == four)
        return points, head_mask

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Heatmap logits (N, K, H, W) -> each head's softmax over the cells, float32 (N, K, H, W)."""
        n, k, h, w = output.shape
        return torch.softmax(output.float().reshape(n, k, h * w), dim=-1).reshape(n, k, h, w)

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

    def points(self, output: torch.Tensor) -> torch.Tensor:
        """Heatmap logits (N, 19, H, W) -> per-head points (N, 19, 2), float32."""
        return self._moments(self.probabilities(output))[0]

    def points_and_spread(self, output: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-head points (N, 19, 2) and how far each head's probability mass spreads around them (N, 19),
        in pixels: about 7 on a face, three times that on a detector's false positive (see `detect`)."""
        return self._moments(self.probabilities(output))

    def select(self, points: torch.Tensor, four_point: torch.Tensor | None = None) -> torch.Tensor:
        """Per-head points (N, 19, 2) -> the 15 keypoints, in the 4-keypoint convention where `four_point`.

        Works on anything laid out per head, e.g. heatmaps (N, 19, H, W). A gather and a `where` (no
        boolean indexing), so that it exports to ONNX with a dynamic batch."""
        base = points[:, :NUM_KEYPOINTS]
        if four_point is None:
            return base
        heads = list(range(NUM_KEYPOINTS))
        for i, k in enumerate(PARTIAL_KEYPOINTS):
            heads[k] = NUM_KEYPOINTS + i
        four = torch.as_tensor(four_point, device=points.device).bool()
        four = four.reshape(-1, *([1] * (points.dim() - 1)))
        return torch.where(four, points[:, heads], base)

    def unflip(self, points: torch.Tensor, flip_offset: torch.Tensor) -> torch.Tensor:
        """Per-head points predicted on mirrored faces -> points on the faces themselves."""
        # Head j on the face is head perm[j] on its mirror image, whose label sat offset[perm[j]] right of x.
        perm = self.flip_permutation.to(points.device)
        points = points[:, perm]
        x = (self.size - 1) - points[..., 0] + flip_offset.to(points.device)[perm]
        return torch.stack((x, points[..., 1]), dim=-1)

    def decode(self, output: torch.Tensor, four_point: torch.Tensor | None = None) -> torch.Tensor:
        return self.select(self.points(output), four_point)

    def head_loss(self, output: torch.Tensor, points: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean absolute pixel error over the labelled heads' coordinates, plus `shape_weight` times the
        cross-entropy of each heatmap against a Gaussian of std `sigma` cells at the label.

        The second term keeps each heatmap one peak at the keypoint: the coordinate loss alone is met as
        well by mass spread on both eyes, whose mean happens to land right, and that does not generalise.
        """
        n, k, h, w = output.shape
        log_prob = torch.log_softmax(output.float().reshape(n, k, h * w), dim=-1)
        predicted = self._moments(log_prob.exp().reshape(n, k, h, w))[0]
        centres = cell_centres(max(h, w), self.stride, output.device)
        weight = mask.to(torch.float32)
        coordinate = ((predicted - points).abs().sum(-1) * weight).sum() / (2 * weight.sum()).clamp(min=1)
        # Gaussian target distribution over the cells (separable, normalised per axis).
        scale = 2 * (self.sigma * self.stride) ** 2
        gx = torch.softmax(-((centres[:w] - points[..., 0:1]) ** 2) / scale, dim=-1)  # (N, K, W)
        gy = torch.softmax(-((centres[:h] - points[..., 1:2]) ** 2) / scale, dim=-1)  # (N, K, H)
        target = (gy.unsqueeze(-1) * gx.unsqueeze(-2)).reshape(n, k, h * w)
        cross_entropy = -(target * log_prob).sum(-1)
        shape = (cross_entropy * weight).sum() / weight.sum().clamp(min=1)
        return coordinate + self.shape_weight * shape

    def loss(self, output: torch.Tensor, keypoints: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head_loss(output, *self.targets(keypoints, mask))


def cell_centres(cells: int, stride: int, device=None) -> torch.Tensor:
    """Pixel coordinate of the centre of each of `cells` heatmap cells of `stride` pixels (pixel j at j)."""
    return torch.arange(cells, device=device, dtype=torch.float32) * stride + (stride - 1) / 2


def codec_from_config(config: dict[str, Any]):
    config = dict(config)
    name = config.pop("name")
    codecs = {c.name: c for c in (CoordinateCodec, RegressionCodec, HeatmapCodec, IntegralCodec)}
    if name not in codecs:
        raise KeyError(f"unknown codec {name!r}")
    return codecs[name](**config)
