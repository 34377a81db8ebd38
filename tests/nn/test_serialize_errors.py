"""Errors of graphnets.nn.serialize (loading files); messages pinned."""

import pytest
import torch

import graphnets


# -- load -------------------------------------------------------------------------------------
def test_errors_load_torch_file_without_header(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(
        ValueError,
        match=r"'.*other\.pt' is not a saved GraphNet \(no "
        r"'graphnets\.GraphNet' header\)",
    ):
        graphnets.load(path)
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError, match=r"is not a saved GraphNet"):
        graphnets.load(path)


def test_errors_load_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, not a network\n")
    with pytest.raises(ValueError, match=r"'.*notes\.txt' is not a saved GraphNet"):
        graphnets.load(path)


def test_errors_load_newer_format(tmp_path):
    net = graphnets.mlp([2, 1], seed=0)
    path = tmp_path / "n.pt"
    net.save(path)
    state = torch.load(path, weights_only=True)
    state["version"] = 99
    torch.save(state, path)
    with pytest.raises(
        ValueError,
        match=r"was saved by a newer graphnets \(format 99, this one "
        r"reads up to 2\); upgrade graphnets",
    ):
        graphnets.load(path)


# -- crafted files: every field is checked before anything runs -----------------------------------
def _state(tmp_path, recurrent=False):
    net = graphnets.priors.watts_strogatz(
        3, 2, 8, 4, 0.3, seed=0, recurrent="self" if recurrent else None
    )
    path = tmp_path / "n.pt"
    net.save(path)
    return torch.load(path, weights_only=True), path


CRAFTED = [
    # what is changed, and the message that names the field
    (lambda s: s.update(weight=s["weight"][:-1]), r"field 'weight' should have shape \[\d+\]"),
    (
        lambda s: s.update(weight=torch.cat([s["weight"], s["weight"]])),
        r"field 'weight' should have shape",
    ),
    (lambda s: s.update(bias=s["bias"][:3]), r"field 'bias' should have shape \[13\], got \[3\]"),
    (lambda s: s.update(weight=s["weight"].long()), r"field 'weight' should hold floats"),
    (
        lambda s: s.update(bias=s["bias"].double()),
        r"fields 'weight' and 'bias' should share a dtype",
    ),
    (
        lambda s: s.update(edge_index=s["edge_index"].float()),
        r"field 'edge_index' should hold integers, got dtype torch.float32",
    ),
    (lambda s: s.update(edge_index=s["edge_index"][0]), r"field 'edge_index' should have shape"),
    (
        lambda s: s["edge_index"].__setitem__((1, 0), 1000),
        r"its structure is invalid \(edge_index refers to node 1000, but there are 13 nodes",
    ),
    (lambda s: s["edge_index"].__setitem__((0, 0), -7), r"edge_index refers to node -7"),
    (lambda s: s.update(inputs=torch.tensor([[0, 1]])), r"field 'inputs' should have shape \[k\]"),
    (lambda s: s.update(outputs=torch.tensor([99])), r"outputs refer to node index \[99\]"),
    (lambda s: s.update(delay=torch.ones(3, dtype=torch.long)), r"field 'delay' should have shape"),
    (
        lambda s: s.update(activations=s["activations"][:-1]),
        r"field 'activations' has 12 entries for 13 nodes",
    ),
    (lambda s: s.update(activations=["relu"] * 12 + ["rleu"]), r"unknown activation 'rleu'"),
    (lambda s: s.update(labels="abc"), r"field 'labels' should be a list of node labels, got str"),
    (lambda s: s.update(kernel="gpu"), r"field 'kernel' is 'gpu', expected one of auto"),
    (lambda s: s.update(kernel=3), r"field 'kernel' should be a kernel name, got int"),
    (lambda s: s.update(version="2"), r"field 'version' should be an int, got str"),
    (lambda s: s.update(version=True), r"field 'version' should be an int, got bool"),
    (lambda s: s.update(version=0), r"field 'version' is 0"),
    (lambda s: s.pop("version"), r"its field 'version' is missing"),
    (lambda s: s.pop("weight"), r"its field 'weight' is missing"),
    (lambda s: s.pop("labels"), r"its field 'labels' is missing"),
    (
        lambda s: s.update(delay=torch.ones_like(s["delay"])),
        r"a format-1 file holds a feed-forward net, but its field 'delay' is not all 0",
    ),
]


@pytest.mark.parametrize("change, message", CRAFTED)
def test_errors_load_crafted_files_name_the_field(tmp_path, change, message):
    # such files used to load, and the fused kernel then read and wrote out of bounds
    state, path = _state(tmp_path)
    change(state)
    torch.save(state, path)
    with pytest.raises(ValueError, match=message):
        graphnets.load(path)


def test_errors_load_refuses_a_pickle_that_would_run_code(tmp_path):
    import pickle

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as f:
        pickle.dump({"format": "graphnets.GraphNet", "x": Payload()}, f, protocol=2)
    with pytest.raises(ValueError, match=r"is not a saved GraphNet \(torch.load failed: "):
        graphnets.load(path)


def test_errors_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        graphnets.load(tmp_path / "none.pt")
