"""Training augmentation, done on whole batches of tensors: mirror, rotate, scale, shift, brightness, contrast.

Most faces get the mild geometry of Kaggle's own crops (±15°, ±10 % zoom, ±6 px). A share `reframe` of them is
instead framed as a photo's crop may frame a face: zoomed out to 0.55 or in to 1.5, turned up to ±35° and
shifted up to ±22 px, the edges filled by replicating the border. Without it the models put the points of a
small, off-centre face on its chest (`benchmarks/robustness.py`); with all faces framed widely they would
spend their capacity on framings that are rare, so the two are mixed.

A mirrored face swaps left and right keypoints, and its labels are not simply mirrored: annotators put
points a little right of where the mirror image would (see `KeypointNet.flip_offset`). The mirrored
target is therefore `size - 1 - x + offset`, with `offset` a learned tensor, so the loss trains it too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Augmentation:
    flip: float = 0.5  # probability of mirroring a face
    rotate: float = 15.0  # degrees, uniform in [-rotate, rotate]
    scale: float = 0.1  # zoom factor in [1/(1+scale), 1+scale], log-uniform
    shift: float = 6.0  # pixels, uniform in [-shift, shift] on each axis
    brightness: float = 0.15  # added to [0, 1] grey levels, uniform in [-b, b]
    contrast: float = 0.3  # factor around the face's mean, log-uniform in [1/(1+c), 1+c]
    reframe: float = 0.0  # share of faces framed widely instead, with the ranges below
    reframe_rotate: float = 35.0
    reframe_scale: tuple[float, float] = (0.55, 1.5)  # log-uniform
    reframe_shift: float = 22.0

    def __call__(self, images: torch.Tensor, points: torch.Tensor, mask: torch.Tensor,
                 flip_permutation: torch.Tensor, flip_offset: torch.Tensor | None = None):
        """Faces (N, 1, S, S) in [0, 1], points (N, K, 2), mask (N, K) -> the same, augmented.

        flip_permutation (K,): the point that point k becomes on the mirrored face; flip_offset (K,): how far
        right of the mirror image the labels sit, learned by the model (None: labels mirror exactly).

        Random draws use torch's global generator, so a resumed run repeats them exactly.
        """
        n, _, size, _ = images.shape
        device = images.device
        if self.flip > 0:
            flip = torch.rand(n, device=device) < self.flip
            images = torch.where(flip[:, None, None, None], images.flip(-1), images)
            mirrored = points[:, flip_permutation]
            x = (size - 1) - mirrored[..., 0]
            mirrored = torch.stack((x if flip_offset is None else x + flip_offset, mirrored[..., 1]), dim=-1)
            points = torch.where(flip[:, None, None], mirrored, points)
            mask = torch.where(flip[:, None], mask[:, flip_permutation], mask)

        angle = (torch.rand(n, device=device) * 2 - 1) * math.radians(self.rotate)
        zoom = torch.exp((torch.rand(n, device=device) * 2 - 1) * math.log1p(self.scale))
        shift = (torch.rand(n, 2, device=device) * 2 - 1) * self.shift
        if self.reframe > 0:
            wide = torch.rand(n, device=device) < self.reframe
            low, high = (math.log(v) for v in self.reframe_scale)
            angle = torch.where(wide, (torch.rand(n, device=device) * 2 - 1) * math.radians(self.reframe_rotate), angle)
            zoom = torch.where(wide, torch.exp(low + torch.rand(n, device=device) * (high - low)), zoom)
            shift = torch.where(wide[:, None], (torch.rand(n, 2, device=device) * 2 - 1) * self.reframe_shift, shift)
        cos, sin = torch.cos(angle) * zoom, torch.sin(angle) * zoom
        matrix = torch.stack((torch.stack((cos, -sin), -1), torch.stack((sin, cos), -1)), -2)  # (N, 2, 2)
        centre = (size - 1) / 2
        points = (points - centre) @ matrix.transpose(1, 2) + centre + shift[:, None]
        # affine_grid maps output to input positions in [-1, 1] units (align_corners=False: a pixel is 2/S).
        inverse = torch.linalg.inv(matrix)
        theta = torch.cat((inverse, -(inverse @ shift.unsqueeze(-1)) * (2 / size)), dim=-1)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        images = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
        inside = ((points >= 0) & (points <= size - 1)).all(dim=-1)
        mask = mask & inside

        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        contrast = torch.exp((torch.rand(n, 1, 1, 1, device=device) * 2 - 1) * math.log1p(self.contrast))
        brightness = (torch.rand(n, 1, 1, 1, device=device) * 2 - 1) * self.brightness
        images = ((images - mean) * contrast + mean + brightness).clamp(0, 1)
        return images, points, mask
