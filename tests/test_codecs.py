"""Codecs: every codec keeps the one interface (to_heads -> encode -> loss; decode_heads -> select), and each
one's own encoding and decoding is right."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from facekeypoints.codecs import CODECS, HeatmapCodec, IntegralCodec, RegressionCodec, codec_from_config
from facekeypoints.errors import FacekeypointsError
from facekeypoints.training.augment import Augmentation


def test_heatmap_codec_round_trip():
    points = torch.tensor([[[10.0, 20.0], [50.3, 60.7], [0.0, 95.0]]])
    mask = torch.tensor([[True, True, False]])
    codec = HeatmapCodec(sigma=2.0, decoder="subpixel")
    heatmaps, weights = codec.encode(points, mask)
    assert heatmaps.shape == (1, 3, 96, 96) and weights.tolist() == [[1, 1, 0]]
    assert heatmaps[0, 0, 20, 10] == pytest.approx(1.0) and heatmaps[0, 2].max() == 0  # unlabelled: empty
    decoded, spread = codec.decode_heads(heatmaps)
    assert torch.allclose(decoded[0, :2], points[0, :2], atol=1e-3)  # sub-pixel: exact for a Gaussian
    assert spread.isnan().all()  # a heatmap peak carries no measure of spread
    argmax = HeatmapCodec(sigma=2.0).decode_heads(heatmaps)[0]
    assert argmax[0, 1].tolist() == [50.0, 61.0]  # argmax: the nearest pixel


def test_heatmap_loss_ignores_unlabelled_keypoints():
    codec = HeatmapCodec()
    points = torch.full((1, 15, 2), 40.0)
    mask = torch.zeros(1, 15, dtype=torch.bool)
    mask[0, 0] = True
    perfect, weights = codec.encode(*codec.to_heads(points, mask))
    noisy = perfect.clone()
    noisy[0, 1:] = torch.rand(14, 96, 96)  # garbage on unlabelled keypoints only
    assert codec.loss(noisy, perfect, weights).item() == 0.0
    assert codec.loss([noisy, noisy], perfect, weights).item() == 0.0
    worse = noisy.clone()
    worse[0, 0] = 0
    assert codec.loss(worse, perfect, weights).item() > 0


def test_regression_loss_ignores_unlabelled_keypoints():
    codec = RegressionCodec()
    points = torch.full((1, 15, 2), 48.0)
    points[0, 3] = float("nan")
    mask = ~torch.isnan(points[..., 0])
    output = torch.full((1, 30), 0.5)
    output[0, 6:8] = 9.0  # the unlabelled keypoint 3
    assert codec.loss(output, *codec.encode(*codec.to_heads(points, mask))).item() == 0.0
    output[0, 0] = 0.4  # a labelled one
    assert codec.loss(output, *codec.encode(*codec.to_heads(points, mask))).item() > 0


def _peaks(points: torch.Tensor, codec: IntegralCodec) -> torch.Tensor:
    """Logits whose soft-argmax is (very nearly) `points`, which must sit on cell centres."""
    cells = codec.cells
    logits = torch.full((*points.shape[:2], cells, cells), -50.0)
    for n, k in np.ndindex(*points.shape[:2]):
        x, y = ((points[n, k] - (codec.stride - 1) / 2) / codec.stride).round().long().tolist()
        logits[n, k, y, x] = 50.0
    return logits


def test_integral_codec_routes_each_convention_to_its_heads():
    codec = IntegralCodec()
    keypoints = torch.rand(2, 15, 2) * 90
    mask = torch.ones(2, 15, dtype=torch.bool)
    mask[1] = False
    mask[1, [0, 1, 10, 14]] = True  # the 4-keypoint convention
    points, head_mask = codec.to_heads(keypoints, mask)
    assert points.shape == (2, 19, 2)
    assert head_mask[0].tolist() == [True] * 15 + [False] * 4
    assert head_mask[1].tolist() == [False] * 15 + [True] * 4
    assert torch.equal(points[1, 15:], keypoints[1, [0, 1, 10, 14]])


def test_integral_codec_decodes_and_selects():
    codec = IntegralCodec()
    centres = torch.arange(24) * 4 + 1.5
    points = torch.stack((centres[torch.randint(24, (3, 19))], centres[torch.randint(24, (3, 19))]), -1)
    decoded = codec.decode_heads(_peaks(points, codec))[0]
    assert torch.allclose(decoded, points, atol=1e-3)
    chosen = codec.select(decoded, torch.tensor([False, True, False]))
    assert torch.allclose(chosen[0], points[0, :15], atol=1e-3)
    assert torch.allclose(chosen[1, [0, 1, 10, 14]], points[1, 15:], atol=1e-3)
    assert torch.allclose(chosen[1, 2:10], points[1, 2:10], atol=1e-3)


def test_flip_augmentation_and_unflip_agree():
    """What augmentation teaches for a mirrored face, unflip turns back into the face's own labels."""
    codec = IntegralCodec()
    offset = torch.randn(19)
    points = torch.rand(4, 19, 2) * 90
    mask = torch.ones(4, 19, dtype=torch.bool)
    images = torch.rand(4, 1, 96, 96)
    flip_only = Augmentation(flip=1.0, rotate=0, scale=0, shift=0, brightness=0, contrast=0)
    mirrored_images, mirrored, _ = flip_only(images, points, mask, codec.flip_permutation, offset)
    assert torch.allclose(mirrored_images, images.flip(-1), atol=1e-5)
    assert torch.allclose(codec.unflip(mirrored, offset), points, atol=1e-4)
    # the left eye centre of a mirrored face is its right eye centre, mirrored and moved by the offset
    assert torch.allclose(mirrored[:, 0, 0], 95 - points[:, 1, 0] + offset[0])


def _output_for(codec, points: torch.Tensor) -> torch.Tensor:
    """A network output that decodes to per-head `points` (N, H, 2), which sit on cell centres."""
    n = points.shape[0]
    if isinstance(codec, IntegralCodec):
        return _peaks(points, codec)
    if isinstance(codec, HeatmapCodec):
        return codec.encode(points, torch.ones(points.shape[:2], dtype=torch.bool))[0]
    targets = codec.encode(points, torch.ones(points.shape[:2], dtype=torch.bool))[0]
    return targets.reshape(n, -1)  # the coordinate codecs' networks output 30 numbers a face


@pytest.mark.parametrize("name", sorted(CODECS))
def test_every_codec_keeps_the_interface(name):
    """One protocol, no caller asking what a codec has: decode_heads -> select gives the 15 keypoints, the
    loss ignores what unlabelled heads output, config() rebuilds the codec, heads and flips agree in size."""
    codec = CODECS[name]()
    torch.manual_seed(0)
    centres = torch.arange(24) * 4 + 1.5  # IntegralCodec's cell centres (stride 4)
    cells = torch.randint(24, (2, 2, codec.heads))
    points = torch.stack((centres[cells[0]], centres[cells[1]]), -1)
    if isinstance(codec, HeatmapCodec):
        points = points.round()  # argmax decoding reads whole pixels
    output = _output_for(codec, points)
    decoded, spread = codec.decode(output)
    assert decoded.shape == (2, 15, 2) and spread.shape == (2, 15)
    assert torch.allclose(decoded, points[:, :15], atol=1e-3)
    assert codec.flip_permutation.shape == (codec.heads,)
    assert sorted(codec.flip_permutation.tolist()) == list(range(codec.heads))
    assert codec_from_config(codec.config()) == codec

    labels = points[:, :15].clone()
    mask = torch.ones(2, 15, dtype=torch.bool)
    mask[:, 3] = False
    labels[:, 3] = float("nan")
    targets, weights = codec.encode(*codec.to_heads(labels, mask))
    base = codec.loss(output, targets, weights)

    def changed(head: int) -> torch.Tensor:
        out = output.clone()
        if out.dim() == 2:
            out[:, 2 * head : 2 * head + 2] += 7.0
        else:
            out[:, head] = out[:, head].roll(shifts=(3, 3), dims=(-2, -1))  # the peak moves
        return codec.loss(out, targets, weights)

    assert torch.isclose(changed(3), base)  # unlabelled keypoint 3: its output does not matter
    assert changed(0) > base + 1e-4  # a labelled one does


def test_unknown_or_bad_codec_config_is_one_clear_error():
    with pytest.raises(FacekeypointsError, match="unknown codec 'nope'"):
        codec_from_config({"name": "nope"})
    with pytest.raises(FacekeypointsError, match="bad settings for codec 'heatmap'"):
        codec_from_config({"name": "heatmap", "decoder": "median"})


def test_one_gaussian_for_both_heatmap_codecs():
    """HeatmapCodec's targets (peak 1) and IntegralCodec's cross-entropy target (sums to 1) are one Gaussian."""
    from facekeypoints.codecs import cell_centres, gaussian

    at = cell_centres(96, 1)
    point = torch.tensor([[[30.0, 41.0]]])
    peak = gaussian(at, at, point, 2.0)
    assert peak.shape == (1, 1, 96, 96) and peak[0, 0, 41, 30] == 1.0
    total = gaussian(at, at, point, 2.0, normalise=True)
    assert total.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert torch.allclose(total / total.max(), peak, atol=1e-6)
