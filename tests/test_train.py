import pytest
import torch
from torch import nn

import graphnets
from graphnets.data import digits
from graphnets.train import accuracy, fit, format_record


@pytest.fixture(scope="module")
def data():
    return digits(seed=0)


def _identity_net():
    # two linear outputs equal to the two inputs: the prediction is the larger input
    net = graphnets.mlp([2, 2], seed=0)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([1.0, 0.0, 0.0, 1.0]))
    return net


def test_accuracy_counts_argmax_hits():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    assert accuracy(_identity_net(), x, torch.tensor([0, 1, 0, 0])) == 0.75


def test_accuracy_keeps_training_mode():
    net = _identity_net().train()
    accuracy(net, torch.zeros(1, 2), torch.tensor([0]))
    assert net.training


def test_fit_records_and_learns_digits(data):
    net = graphnets.mlp([64, 32, 10], seed=0)
    history = fit(net, *data, epochs=3, seed=0, progress=False)
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert set(history[0]) == {"epoch", "loss", "train_acc", "test_acc", "seconds"}
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["test_acc"] >= 0.9
    assert history[-1]["test_acc"] == accuracy(net, data[2], data[3])
    assert all(r["seconds"] > 0 for r in history)


def _strip(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def test_fit_same_seed_same_records_and_weights(data):
    a, b = graphnets.mlp([64, 16, 10], seed=1), graphnets.mlp([64, 16, 10], seed=1)
    ha = fit(a, *data, epochs=2, seed=5, progress=False)
    hb = fit(b, *data, epochs=2, seed=5, progress=False)
    assert _strip(ha) == _strip(hb)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


def test_fit_seed_generator_and_other_seed(data):
    a, b, c = (graphnets.mlp([64, 16, 10], seed=1) for _ in range(3))
    ha = fit(a, *data, epochs=1, seed=5, progress=False)
    hb = fit(b, *data, epochs=1, seed=torch.Generator().manual_seed(5), progress=False)
    hc = fit(c, *data, epochs=1, seed=6, progress=False)
    assert _strip(ha) == _strip(hb)
    assert not torch.equal(a.weight, c.weight) and ha[0]["loss"] != hc[0]["loss"]


def test_fit_graphnet_matches_torch_reference(data):
    # the same MLP as torch.nn and as a GraphNet, trained with the same shuffles
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    net = graphnets.from_torch(seq)
    h_torch = fit(seq, *data, epochs=2, seed=3, progress=False)
    h_graph = fit(net, *data, epochs=2, seed=3, progress=False)
    for rt, rg in zip(h_torch, h_graph, strict=True):
        assert rg["loss"] == pytest.approx(rt["loss"], rel=1e-5)
        assert rg["test_acc"] == pytest.approx(rt["test_acc"], abs=1 / 450)
    torch.testing.assert_close(net.weight, graphnets.from_torch(seq).weight, atol=1e-5, rtol=1e-4)


def test_fit_log_is_called_per_epoch(data):
    seen = []
    history = fit(
        graphnets.mlp([64, 10], seed=0), *data, epochs=2, seed=0, progress=False, log=seen.append
    )
    assert seen == history


def test_fit_progress_bar_on_stderr_only_when_asked(data, capsys):
    net = graphnets.mlp([64, 10], seed=0)
    fit(net, *data, epochs=1, seed=0, progress=True)
    out, err = capsys.readouterr()
    assert "epoch 1/1" in err and "batch" in err and out == ""
    fit(net, *data, epochs=1, seed=0, progress=False)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_fit_last_batch_may_be_smaller(data):
    x_train, y_train, x_test, y_test = data
    net = graphnets.mlp([64, 10], seed=0)
    history = fit(
        net,
        x_train[:10],
        y_train[:10],
        x_test,
        y_test,
        epochs=1,
        batch_size=4,
        seed=0,
        progress=False,
    )
    assert len(history) == 1


def test_format_record():
    line = format_record(
        {"epoch": 3, "loss": 0.5, "train_acc": 0.75, "test_acc": 0.5, "seconds": 1.25}
    )
    assert line == "epoch   3  loss 0.5000  train acc 0.7500  test acc 0.5000  (1.25 s)"


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("epochs", 0, "epochs must be a positive int, got 0"),
        ("epochs", 2.0, "epochs must be a positive int, got 2.0"),
        ("batch_size", -1, "batch_size must be a positive int, got -1"),
        ("lr", 0.0, "lr must be a positive finite float, got 0.0"),
        ("lr", float("inf"), "lr must be a positive finite float, got inf"),
    ],
)
def test_fit_bad_options(data, option, value, message):
    with pytest.raises(ValueError, match=message):
        fit(graphnets.mlp([64, 10]), *data, progress=False, **{option: value})


def test_fit_bad_seed_and_log(data):
    with pytest.raises(TypeError, match="seed must be None, an int or a torch.Generator, got '1'"):
        fit(graphnets.mlp([64, 10]), *data, seed="1", progress=False)
    with pytest.raises(TypeError, match="log must be a callable taking a dict"):
        fit(graphnets.mlp([64, 10]), *data, log="print", progress=False)


def test_fit_bad_net_and_data(data):
    x_train, y_train, x_test, y_test = data
    with pytest.raises(TypeError, match="expected net to be a torch.nn.Module, got function"):
        fit(lambda x: x, *data)
    with pytest.raises(TypeError, match="x_train and y_train to be torch.Tensors, got ndarray"):
        fit(graphnets.mlp([64, 10]), x_train.numpy(), y_train, x_test, y_test)
    with pytest.raises(ValueError, match="got x_train with 1347 rows and y_train with 10 labels"):
        fit(graphnets.mlp([64, 10]), x_train, y_train[:10], x_test, y_test)
    with pytest.raises(
        ValueError,
        match=r"y_test to be a 1-d tensor of integer class labels, "
        r"got shape \[450\] and dtype torch.float32",
    ):
        fit(graphnets.mlp([64, 10]), x_train, y_train, x_test, y_test.float())
    with pytest.raises(ValueError, match="expected x_test with the 64 features of x_train, got 63"):
        fit(graphnets.mlp([64, 10]), x_train, y_train, x_test[:, :63], y_test)


def test_fit_labels_outside_the_outputs(data):
    with pytest.raises(
        ValueError, match=r"y_train holds label 9, but the net has 5 outputs \(classes 0..4\)"
    ):
        fit(graphnets.mlp([64, 5]), *data, progress=False)


def test_fit_sequences_3d():
    # x [B, T, F]: samples along the first dimension, the rest is the net's business
    from graphnets import cells
    from graphnets.data import reber

    x_train, y_train, x_test, y_test, *_ = reber.dataset(200, seed=0)
    net = cells.SequenceClassifier(cells.complete("gru", 7, 8, seed=0), 2, seed=0)
    flat = cells.SequenceClassifier(cells.complete("gru", 7, 8, seed=0), 2, seed=0)
    history = fit(net, x_train, y_train, x_test, y_test, epochs=2, seed=0, progress=False)
    # the same net on the flattened sequences is the same training run
    reference = fit(
        flat,
        x_train.flatten(1),
        y_train,
        x_test.flatten(1),
        y_test,
        epochs=2,
        seed=0,
        progress=False,
    )
    for r, ref in zip(history, reference, strict=True):
        assert r["loss"] == pytest.approx(ref["loss"], rel=1e-5)
        assert r["test_acc"] == ref["test_acc"]
    assert accuracy(net, x_test, y_test) == history[-1]["test_acc"]
    with pytest.raises(
        ValueError,
        match=r"expected x_test of shape \[B, 18, 7\] like x_train, "
        r"got \[50, 18, 6\]",
    ):
        fit(net, x_train, y_train, x_test[..., :6], y_test, progress=False)
    with pytest.raises(ValueError, match=r"expected x_train of shape \[B, features\], got \[150\]"):
        fit(net, x_train[:, 0, 0], y_train, x_test, y_test, progress=False)


def test_fit_stops_when_the_loss_diverges(data):
    # An absurd learning rate overflows the logits at the second batch. fit used to train on
    # through NaN losses and report 10 % accuracy; it stops before the step that would poison
    # the parameters, which are then those of one plain torch Adam step.
    torch.manual_seed(0)
    seq = nn.Sequential(nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    net = graphnets.from_torch(seq)
    with pytest.raises(
        FloatingPointError,
        match=r"training diverged at epoch 1, batch 2: the loss is nan; stopped before this step, "
        r"so the parameters are those of the step before\. Lower lr \(now 1e\+30\), or check "
        r"the net's initial parameters",
    ) as err:
        fit(net, *data, epochs=3, lr=1e30, seed=0, progress=False)
    assert err.value.history == []
    x_train, y_train = data[0], data[1]
    first = torch.randperm(len(x_train), generator=torch.Generator().manual_seed(0))[:64]
    opt = torch.optim.Adam(seq.parameters(), lr=1e30)
    nn.functional.cross_entropy(seq(x_train[first]), y_train[first]).backward()
    opt.step()
    assert bool(torch.isfinite(net.weight).all())
    torch.testing.assert_close(net.weight, graphnets.from_torch(seq).weight)


class _NanGradient(nn.Module):
    """A classifier whose loss is finite but whose parameter ``c`` gets a NaN gradient
    (d/dc of 0 · sqrt(c) at c = 0 is 0 · inf)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(64, 10)
        self.c = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.lin(x) + 0 * torch.sqrt(self.c)


def test_fit_stops_on_a_non_finite_gradient(data):
    torch.manual_seed(0)
    net = _NanGradient()
    before = net.lin.weight.detach().clone()
    with pytest.raises(
        FloatingPointError,
        match=r"training diverged at epoch 1, batch 1: the loss is [0-9.]+ but a gradient is "
        r"NaN or infinite; stopped before this step",
    ):
        fit(net, *data, epochs=1, seed=0, progress=False)
    assert torch.equal(net.lin.weight, before)  # no step was taken


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("which", ["x_train", "x_test"])
def test_fit_refuses_non_finite_features(data, which, value):
    x_train, y_train, x_test, y_test = (t.clone() for t in data)
    (x_train if which == "x_train" else x_test)[5, 3] = value
    with pytest.raises(
        ValueError,
        match=rf"{which} holds {value} at index \[5, 3\]; features must be finite \(drop or "
        r"impute those samples first\)",
    ):
        fit(graphnets.mlp([64, 10]), x_train, y_train, x_test, y_test, progress=False)
