"""The fc1 embedding: one point per sampled test digit, labelled, with an exact centred PCA."""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from mnist_tui.data import normalise
from mnist_tui.insight.embedding import SAMPLE, embed_test_set, fc1_features, pca_2d, sample_indices
from mnist_tui.model import Net


def data(n: int = 300):
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(n, 28, 28, generator=g) * 255).to(torch.uint8)
    labels = torch.arange(n) % 10
    return images, labels


def test_features_are_fc1_after_relu():
    torch.manual_seed(0)
    net = Net().eval()
    images, _ = data(30)
    features = fc1_features(net, images, batch_size=7)
    with torch.no_grad():
        x = F.relu(F.max_pool2d(net.conv1(normalise(images)), 2))
        x = F.relu(F.max_pool2d(net.conv2(x), 2))
        expected = F.relu(net.fc1(torch.flatten(x, 1)))
    assert features.shape == (30, 50) and features.dtype == np.float32
    np.testing.assert_allclose(features, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_one_point_per_sampled_digit_with_its_label_and_the_selected_one_included():
    torch.manual_seed(0)
    net = Net()
    images, labels = data(300)
    embedding = embed_test_set(net, images, labels, sample=100, include=299)
    indices = embedding.indices
    assert len(indices) == len(set(indices.tolist())) == 101 and 299 in indices
    assert embedding.coords.shape == (101, 2) and embedding.coords.dtype == np.float32
    np.testing.assert_array_equal(embedding.labels, labels.numpy()[indices])
    assert embedding.position_of(299) is not None and embedding.position_of(-5) is None
    # the whole set when sample is None; the sample is the same every time
    assert len(embed_test_set(net, images, labels, sample=None).coords) == 300
    np.testing.assert_array_equal(sample_indices(10_000), sample_indices(10_000))
    assert len(sample_indices(10_000)) == SAMPLE


def test_pca_is_centred_exact_and_sign_stable():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(500, 50)) * np.linspace(5, 0.1, 50) + 3.0
    coords, mean, axes, explained = pca_2d(features)
    np.testing.assert_allclose(mean, features.mean(0), rtol=1e-5)
    np.testing.assert_allclose(coords.mean(0), 0, atol=1e-3)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(features - features.mean(0), rowvar=False))
    top = eigenvectors[:, ::-1][:, :2]
    np.testing.assert_allclose(np.abs(axes.T @ top), np.eye(2), atol=1e-4)  # the same two axes
    assert np.all(axes[np.abs(axes).argmax(0), [0, 1]] > 0)  # largest loading positive
    assert np.all(explained > 0) and explained[0] >= explained[1]
    np.testing.assert_allclose(explained, eigenvalues[::-1][:2] / eigenvalues.sum(), rtol=1e-4)


def test_projecting_a_new_digit_uses_the_same_axes_and_the_global_rng_is_untouched():
    torch.manual_seed(0)
    net = Net()
    images, labels = data(200)
    state = torch.get_rng_state()
    embedding = embed_test_set(net, images, labels, sample=None)
    assert torch.equal(state, torch.get_rng_state())
    again = embedding.project(fc1_features(net, images[:5]))
    np.testing.assert_allclose(again, embedding.coords[:5], rtol=1e-4, atol=1e-4)


def test_the_status_says_when_the_selected_digit_joined_the_sample():
    """It read "2,001 test digits (fixed sample)" with a test digit selected and "2,000" with a
    drawing, where the help and the README said one number."""
    from mnist_tui.insight.embedding import SAMPLE, Embedding
    from mnist_tui.tui.screens.model_view_text import embedding_status

    def of(n):
        zeros = np.zeros((n, 2), np.float32)
        return Embedding(zeros, np.zeros(n, np.int64), np.arange(n), np.zeros(50), np.zeros((50, 2)), np.ones(2) / 4)

    assert "2,000 test digits (fixed sample) and the selected one · " in embedding_status(of(SAMPLE + 1), 5.0, True)
    assert "2,000 test digits (fixed sample) · " in embedding_status(of(SAMPLE), 5.0, True)
