"""Activations and saliency against the model's own layers and an independent autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from mnist_tui.data import normalise
from mnist_tui.insight.activations import inspect_digit, layer_activations, model_input, saliency
from mnist_tui.model import Net


@pytest.fixture
def net() -> Net:
    torch.manual_seed(1)
    return Net().eval()


@pytest.fixture
def digit() -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[6:22, 12:16] = 255  # a "1"
    image[6:9, 9:12] = 180
    return image


def _x(image: np.ndarray) -> torch.Tensor:
    return normalise(torch.from_numpy(image)[None])


def test_activation_shapes_and_values_equal_the_models_own_layers(net, digit):
    conv1, conv2 = layer_activations(net, digit)
    assert conv1.shape == (10, 24, 24) and conv2.shape == (20, 8, 8)
    with torch.no_grad():
        own1 = net.conv1(_x(digit))
        own2 = net.conv2(F.relu(F.max_pool2d(own1, 2)))
    np.testing.assert_allclose(conv1, own1[0].numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(conv2, own2[0].numpy(), rtol=1e-6, atol=1e-6)


def test_inputs_as_uint8_or_float_are_normalised_alike(net, digit):
    np.testing.assert_allclose(model_input(digit).numpy(), _x(digit).numpy(), atol=1e-6)
    np.testing.assert_allclose(model_input(digit / 255.0).numpy(), _x(digit).numpy(), atol=1e-5)
    with pytest.raises(ValueError):
        model_input(np.zeros((27, 28)))


def test_saliency_matches_autograd_computed_here(net, digit):
    insight = inspect_digit(net, digit)
    x = _x(digit).requires_grad_(True)
    logits = net(x)[0]
    predicted = int(logits.argmax())
    logits[predicted].backward()
    expected = x.grad[0, 0].numpy()
    assert insight.predicted == insight.explained == predicted
    np.testing.assert_allclose(insight.logits, logits.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(insight.probabilities.sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(insight.gradient, expected, rtol=1e-5, atol=1e-7)
    # gradient × input, measured from a blank digit: the background contributes nothing
    blank = _x(np.zeros((28, 28), dtype=np.uint8))[0, 0]
    np.testing.assert_allclose(insight.gradient_x_input, expected * (x.detach()[0, 0] - blank).numpy(), atol=1e-7)
    assert np.all(insight.gradient_x_input[digit == 0] == 0)
    g, gx, cls = saliency(net, digit)
    np.testing.assert_array_equal(g, insight.gradient)
    assert cls == predicted


def test_saliency_of_another_class_and_of_a_known_linear_model(digit):
    # a network whose logit 3 is the sum of conv1 channel 0's output (all else zero):
    # d logit3 / d x is then the conv1 kernel spread over every position it touches
    net = Net().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.conv1.weight[0, 0] = 1.0
        net.conv1.bias[0] = 100.0  # keeps the channel positive, so relu and max-pool pass it on
        net.conv2.weight[0, 0, 2, 2] = 1.0
        net.fc1.weight[0, :16] = 1.0  # conv2 channel 0's 16 pooled values
        net.fc2.weight[3, 0] = 1.0
    insight = inspect_digit(net, digit, target=3)
    assert insight.explained == 3 and insight.predicted == 3
    assert np.all(insight.gradient >= 0) and insight.gradient.max() > 0
    zero = inspect_digit(net, digit, target=5)  # nothing reaches logit 5
    assert zero.explained == 5 and np.all(zero.gradient == 0)


def test_it_works_on_a_copy_and_leaves_the_model_and_random_state_alone(net, digit):
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = torch.get_rng_state()
    inspect_digit(net, digit)
    assert net.training
    assert all(p.grad is None for p in net.parameters())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())


@pytest.mark.parametrize("right", [True, False, None])
def test_the_digit_tabs_verdict_is_green_only_when_the_guess_is_the_label(net, digit, right):
    """A wrong guess showed in green ("#1681 label 3 predicted [7] 99.8 %"): a learner reads it as right."""
    from mnist_tui.tui.widgets.model_view import SaliencyView

    insight = inspect_digit(net, digit)
    label = None if right is None else insight.predicted if right else (insight.predicted + 1) % 10
    view = SaliencyView()
    view.show(insight, "#1 label …", label=label)
    styles = {str(span.style) for span in view.build(120).spans}
    expected = {True: "bold reverse green", False: "bold reverse red", None: "bold reverse"}[right]
    assert expected in styles and (right is None or "bold reverse " + ("red" if right else "green") not in styles)


def test_a_drawing_reads_the_same_inside_as_on_the_drawing_screen(net):
    """The same drawn digit read 73.2 % on the drawing screen and 72.9 % inside the network: the
    one rounded the drawing to MNIST's byte steps and the other did not."""
    from mnist_tui.drawing import mnist_like, paint, predict_probabilities

    grid = np.zeros((28, 28), dtype=np.float32)
    for row in range(4, 22):  # a "1" with a hook, in the soft brush's grey steps
        paint(grid, row, 14)
    for col in range(10, 14):
        paint(grid, 5, col)
    drawn = predict_probabilities(net, grid)
    inside = inspect_digit(net, mnist_like(grid)).probabilities
    np.testing.assert_allclose(inside, drawn, rtol=0, atol=1e-7)
