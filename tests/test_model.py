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
