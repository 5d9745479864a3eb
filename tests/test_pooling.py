"""The channels-last 2×2 max pool computes what F.max_pool2d does, and the net's reordered
forward (dropout2d after the pool) computes what the seed's order does."""

import pytest
import torch
from torch.nn import functional as F

from mnist_tui.model import Net
from mnist_tui.pooling import max_pool2x2

SHAPES = [(6, 10, 24, 24), (6, 20, 8, 8)]  # conv1's and conv2's outputs


def channels_last(t: torch.Tensor) -> torch.Tensor:
    return t.contiguous(memory_format=torch.channels_last).requires_grad_(True)


@pytest.mark.parametrize("shape", SHAPES)
def test_values_and_gradient_match_native_without_ties(shape):
    torch.manual_seed(0)
    x = channels_last(torch.randn(shape))  # fp32 normals: no two equal values in a window
    grad_out = torch.randn(shape[0], shape[1], shape[2] // 2, shape[3] // 2)
    ours = max_pool2x2(x)
    (our_grad,) = torch.autograd.grad(ours, x, grad_out)
    native = F.max_pool2d(x, 2)
    (native_grad,) = torch.autograd.grad(native, x, grad_out)
    assert torch.equal(ours, native)
    assert torch.equal(our_grad, native_grad)
    assert ours.is_contiguous(memory_format=torch.channels_last)
    assert our_grad.is_contiguous(memory_format=torch.channels_last)


def test_ties_send_the_gradient_to_exactly_one_maximum():
    torch.manual_seed(1)
    x = torch.randint(0, 3, (4, 10, 24, 24)).to(torch.bfloat16)  # three levels: ties everywhere
    x = channels_last(x)
    grad_out = torch.rand(4, 10, 12, 12, dtype=torch.bfloat16) + 0.5  # never zero
    ours = max_pool2x2(x)
    assert torch.equal(ours, F.max_pool2d(x, 2))
    (grad,) = torch.autograd.grad(ours, x, grad_out)
    windows = grad.float().unfold(2, 2, 2).unfold(3, 2, 2).reshape(4, 10, 12, 12, 4)
    values = x.detach().float().unfold(2, 2, 2).unfold(3, 2, 2).reshape(4, 10, 12, 12, 4)
    chosen = windows != 0
    assert torch.equal(chosen.sum(-1), torch.ones(4, 10, 12, 12, dtype=torch.long))
    assert torch.equal(windows.sum(-1), grad_out.float())
    assert torch.equal(values[chosen], ours.detach().float().flatten())  # the chosen one is a maximum


def test_without_gradients_and_on_other_layouts_it_equals_native():
    torch.manual_seed(2)
    x = torch.randn(3, 10, 24, 24)
    with torch.inference_mode():
        assert torch.equal(max_pool2x2(x.contiguous(memory_format=torch.channels_last)), F.max_pool2d(x, 2))
    assert torch.equal(max_pool2x2(x), F.max_pool2d(x, 2))  # NCHW: the native pool itself
    odd = torch.randn(2, 4, 7, 7).contiguous(memory_format=torch.channels_last)
    assert torch.equal(max_pool2x2(odd), F.max_pool2d(odd, 2))


def seed_order_forward(net: Net, x: torch.Tensor) -> torch.Tensor:
    """The seed's forward, op for op."""
    x = F.relu(F.max_pool2d(net.conv1(x), 2))
    x = F.relu(F.max_pool2d(net.conv2_drop(net.conv2(x)), 2))
    x = net.fc_drop(F.relu(net.fc1(torch.flatten(x, 1))))
    return net.fc2(x)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_the_net_trains_as_the_seed_order_does(layout):
    torch.manual_seed(3)
    net = Net(conv_dropout=0.5, fc_dropout=0.5).to(memory_format=layout).train()
    x = torch.randn(16, 1, 28, 28).contiguous(memory_format=layout)
    torch.manual_seed(4)
    ours = net(x)
    our_grads = torch.autograd.grad(ours.square().sum(), list(net.parameters()))
    torch.manual_seed(4)  # the same dropout masks, if both draw the same shapes in the same order
    theirs = seed_order_forward(net, x)
    their_grads = torch.autograd.grad(theirs.square().sum(), list(net.parameters()))
    assert (ours == 0).sum() < ours.numel()  # dropout left something to compare
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-6)
    for a, b in zip(our_grads, their_grads, strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
