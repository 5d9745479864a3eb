import torch

from mnist_tui.model import Net, parameter_count


def test_shapes_and_parameter_count():
    net = Net()
    assert parameter_count(net) == 21_840
    assert net(torch.zeros(7, 1, 28, 28)).shape == (7, 10)


def test_forward_returns_logits_not_probabilities():
    torch.manual_seed(0)
    net = Net().eval()
    out = net(torch.randn(16, 1, 28, 28) * 3)
    # Softmax outputs would be non-negative and sum to one per row; logits do neither.
    assert (out < 0).any()
    assert not torch.allclose(out.sum(1), torch.ones(16), atol=1e-3)


def test_layers_are_the_seed_architecture_with_fc2():
    net = Net()
    assert (net.conv1.in_channels, net.conv1.out_channels, net.conv1.kernel_size) == (1, 10, (5, 5))
    assert (net.conv2.in_channels, net.conv2.out_channels, net.conv2.kernel_size) == (10, 20, (5, 5))
    assert (net.fc1.in_features, net.fc1.out_features) == (320, 50)
    assert (net.fc2.in_features, net.fc2.out_features) == (50, 10)
    assert isinstance(net.conv2_drop, torch.nn.Dropout2d)


def test_dropout_only_in_training_mode():
    torch.manual_seed(0)
    net = Net(conv_dropout=0.5, fc_dropout=0.5)
    x = torch.randn(4, 1, 28, 28)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))


def test_conv1_runs_in_chunks_with_the_whole_batch_result(monkeypatch):
    import mnist_tui.model as model

    torch.manual_seed(0)
    net = Net(conv_dropout=0.0, fc_dropout=0.0).to(memory_format=torch.channels_last)
    x = torch.randn(600, 1, 28, 28)
    calls, layouts = [], []
    net.conv1.register_forward_hook(lambda module, args, out: calls.append(len(args[0])))
    net.conv2.register_forward_pre_hook(
        lambda module, args: layouts.append(args[0].is_contiguous(memory_format=torch.channels_last))
    )

    def run():
        net.zero_grad()
        out = net(x)
        out.square().sum().backward()
        return out.detach(), [p.grad.clone() for p in net.parameters()]

    chunked, chunked_grads = run()
    assert calls == [256, 256, 88] and layouts == [True]  # conv2 still gets channels-last input
    monkeypatch.setattr(model, "CONV1_CHUNK", 10_000)
    calls.clear()
    whole, whole_grads = run()
    assert calls == [600]
    assert torch.allclose(chunked, whole, atol=1e-5)
    for a, b in zip(chunked_grads, whole_grads, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-4)
