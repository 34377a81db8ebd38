"""Training a URN: ``fit`` against the loop it stands for (Adam on the loss, then the proximal
step, then the sparsification), the paper's subgradient variant, strict accuracy, errors."""

import pytest
import torch
import torch.nn.functional as F

from graphnets.data import shells
from graphnets.methods.urn import URN, accuracy, fit


def _data():
    x, y, x_test, y_test = shells(80, seed=0, dtype=torch.float64)
    return x, y, x_test, y_test


def test_fit_is_adam_then_proximal_step_then_sparsify():
    x, y, x_test, y_test = _data()
    kw = dict(output_activation="identity", seed=0)
    urn, ref = URN(20, 3, 10, 2, **kw).double(), URN(20, 3, 10, 2, **kw).double()
    records = fit(
        urn,
        x,
        y,
        x_test,
        y_test,
        epochs=2,
        batch_size=32,
        lr=0.01,
        c_W=0.01,
        c_N=0.001,
        sparsify_every=3,
        seed=5,
    )
    # the same steps written out
    g = torch.Generator().manual_seed(5)
    opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    steps, losses = 0, []
    for _ in range(2):
        perm = torch.randperm(64, generator=g)
        total = []
        for i in range(0, 64, 32):
            idx = perm[i : i + 32]
            ce = F.cross_entropy(ref(x[idx]), y[idx])
            loss = ce + ref.penalty(c_N=0.001)
            opt.zero_grad()
            loss.backward()
            opt.step()
            ref.proximal_step(opt, c_W=0.01)
            steps += 1
            if steps % 3 == 0:
                ref.sparsify(optimizer=opt)
            total.append(ce.item())
        losses.append(sum(total) / len(total))
    assert torch.equal(urn.net.edge_index, ref.net.edge_index)
    torch.testing.assert_close(urn.net.weight, ref.net.weight, rtol=0, atol=1e-12)
    assert [r["loss"] for r in records] == pytest.approx(losses, rel=1e-12)
    assert [r["epoch"] for r in records] == [1, 2]
    assert records[-1]["edges"] == ref.num_edges < 400
    assert records[-1]["density"] == pytest.approx(ref.num_edges / 400)
    assert records[-1]["test_acc"] == accuracy(ref, x_test, y_test)
    assert records[-1]["kernel"] == ref.kernel and records[-1]["seconds"] > 0


def test_fit_subgradient_variant_puts_the_weight_terms_in_the_loss():
    x, y, _, _ = _data()
    urn, ref = URN(20, 2, 10, 2, seed=1).double(), URN(20, 2, 10, 2, seed=1).double()
    logged = []
    fit(
        urn,
        x,
        y,
        epochs=1,
        batch_size=64,
        lr=0.01,
        c_W=0.01,
        proximal=False,
        seed=0,
        log=logged.append,
    )
    opt = torch.optim.Adam(ref.parameters(), lr=0.01)
    torch.randperm(64, generator=torch.Generator().manual_seed(0))  # one batch: order irrelevant
    loss = F.cross_entropy(ref(x), y) + ref.penalty(c_W=0.01)
    loss.backward()
    opt.step()
    torch.testing.assert_close(urn.net.weight, ref.net.weight, rtol=0, atol=1e-12)
    assert urn.num_edges == 400 and len(logged) == 1 and "test_acc" not in logged[0]


def test_accuracy_counts_ties_as_errors():
    urn = URN(6, 1, 2, 2, seed=0).double()
    with torch.no_grad():
        urn.net.weight.zero_()  # every output 0: a tie for every sample
    x, y = torch.rand(4, 2, dtype=torch.float64), torch.tensor([0, 0, 1, 1])
    assert accuracy(urn, x, y) == 0.0
    with torch.no_grad():
        urn.net.bias[4] = 1.0  # output 0 wins everywhere
    assert accuracy(urn, x, y) == 0.5


def test_fit_errors():
    x, y, x_test, y_test = _data()
    urn = URN(20, 2, 10, 2, seed=0).double()
    with pytest.raises(ValueError, match=r"y_train holds labels in 0..2; a URN with d_out=2"):
        fit(urn, x, y.clone().fill_(2).index_fill_(0, torch.tensor([0]), 0))
    with pytest.raises(ValueError, match=r"pass both x_test and y_test, or neither"):
        fit(urn, x, y, x_test)
    with pytest.raises(ValueError, match=r"expected x_train of shape \[B, 10\], got \[64, 3\]"):
        fit(urn, x[:, :3], y)
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got 0"):
        fit(urn, x, y, lr=0)
    with pytest.raises(ValueError, match=r"sparsify_every must be a positive int, got 0"):
        fit(urn, x, y, sparsify_every=0)
    with pytest.raises(ValueError, match=r"epochs must be a positive int, got 0"):
        fit(urn, x, y, epochs=0)
    with pytest.raises(ValueError, match=r"c_N must be a finite number >= 0, got -1"):
        fit(urn, x, y, c_N=-1)
    with pytest.raises(ValueError, match=r"this URN has no geometry"):
        fit(urn, x, y, c_syn=1.0)
    with pytest.raises(TypeError, match=r"expected a graphnets.urn.URN"):
        fit(urn.net, x, y)
