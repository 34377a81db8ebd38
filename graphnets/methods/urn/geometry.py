"""Where the neurons of a URN sit: coordinates and the uplifted metric of ``004_…`` §3.

An input with a geometry (the pixels of an image, ``d_x × d_y``) induces a metric on the neurons
of the URN when they are laid out around it: the inputs on one plane, the other neurons on
parallel planes above it, and the product metric (Eq. 8)

.. math::
    ds^2 = ds^2_{\\text{input}} + \\beta\\, dz^2,

so that the distance of neurons ``i`` and ``j`` is
``d_ij = sqrt((x_i - x_j)² + (y_i - y_j)² + β (z_i - z_j)²)``. The synaptic-length regulator of
Eq. 9, ``c_syn Σ |W_ij| d_ij^γ``, then charges a long synapse more than a short one.

A :class:`Geometry` is plain data: one row of coordinates per neuron and the metric's weight per
axis. :func:`grid` builds the layout of the paper's experiment: a ``width × height × depth`` box
of neurons, the inputs on the first plane (``z = 1``) and the outputs at the centre of the last
one.

Not done here: curved input geometries (any coordinates and per-axis weights can be given, but
the metric is always a weighted Euclidean one).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..._util.checks import is_int, positive_int

__all__ = ["Geometry", "grid"]


@dataclass(frozen=True)
class Geometry:
    """Neuron coordinates and a weighted Euclidean metric.

    Attributes:
        coords: ``[S, D]`` float64, the position of every neuron (row ``i``: neuron ``i``).
        scale: ``[D]`` float64, the metric's weight per axis: ``d² = Σ_k scale_k Δ_k²``
            (``(1, 1, β)`` for the uplift of a 2-d input, Eq. 8).
        shape: the grid's ``(width, height, depth)`` when built by :func:`grid` (else ``None``).

    Example:
        >>> g = Geometry(torch.tensor([[0.0, 0.0], [3.0, 4.0]]), torch.tensor([1.0, 1.0]))
        >>> g.distance(torch.tensor([0]), torch.tensor([1])).tolist()
        [5.0]
    """

    coords: torch.Tensor
    scale: torch.Tensor
    shape: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        c, s = self.coords, self.scale
        if not isinstance(c, torch.Tensor) or c.dim() != 2 or not c.is_floating_point():
            raise ValueError(
                "coords must be a floating tensor [S, D] (one row per neuron), got "
                f"{type(c).__name__ if not isinstance(c, torch.Tensor) else list(c.shape)}"
            )
        if not isinstance(s, torch.Tensor) or s.dim() != 1 or s.numel() != c.shape[1]:
            raise ValueError(
                f"scale must be a tensor [D] with D = {c.shape[1]} (one weight per axis of "
                f"coords), got {s if not isinstance(s, torch.Tensor) else list(s.shape)}"
            )
        if not bool(torch.isfinite(c).all()) or not bool((s >= 0).all()):
            raise ValueError("coords must be finite and scale >= 0 (a metric's weights)")

    @property
    def num_neurons(self) -> int:
        return int(self.coords.shape[0])

    def distance(self, src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
        """``[E]`` float64 distances of the neuron pairs ``src[e] → dst[e]``."""
        diff = self.coords[src] - self.coords[dst]
        return (diff.pow(2) * self.scale).sum(1).sqrt()

    def z(self) -> torch.Tensor:
        """``[S]`` the last coordinate of every neuron: the height above the input plane."""
        return self.coords[:, -1]


def grid(width: int, height: int, depth: int, d_out: int, *, beta: float = 1.0) -> Geometry:
    """A ``width × height × depth`` box of neurons, inputs on the first plane, outputs at the
    centre of the last (the layout of ``004_…`` §3, Fig. 5).

    Neurons are numbered as a URN wants them: the ``width · height`` neurons of plane ``z = 1``
    first (the inputs, row-major: neuron ``y · width + x`` sits at ``(x, y, 1)``), then the
    other planes row-major, except the ``d_out`` neurons of the last plane closest to its
    centre, which come last (the outputs; ties broken row-major). So
    ``URN(width * height * depth, I, width * height, d_out, geometry=grid(...))`` embeds an
    image of ``height × width`` pixels (row-major) in the first plane.

    Args:
        width, height (int): the input plane, in neurons (pixels).
        depth (int): the number of planes (``≥ 2``: inputs and outputs on different planes).
        d_out (int): output neurons, at most ``width · height``.
        beta (float): the weight of ``dz²`` in the metric (Eq. 8) (default: ``1.0``).

    Returns:
        Geometry: coordinates ``(x, y, z)`` with ``x, y`` in pixel units and ``z = 1..depth``,
        and ``scale = (1, 1, beta)``.

    Raises:
        ValueError: for sizes that are not positive ints, ``depth < 2``, ``d_out`` larger than a
            plane, or a negative or non-finite ``beta``.

    Example:
        >>> g = grid(4, 4, 3, 2, beta=4.0)
        >>> g.num_neurons, g.coords[0].tolist(), g.coords[-1].tolist()
        (48, [0.0, 0.0, 1.0], [2.0, 1.0, 3.0])
    """
    width, height = positive_int(width, "width"), positive_int(height, "height")
    depth = positive_int(depth, "depth")
    if depth < 2:
        raise ValueError(
            "depth must be at least 2 (inputs on the first plane, outputs on the last), got "
            f"{depth}"
        )
    plane = width * height
    if not is_int(d_out) or not 1 <= d_out <= plane:
        raise ValueError(
            f"d_out must be an int in 1..{plane} (one plane of the grid), got {d_out!r}"
        )
    beta = float(beta)
    if not (beta >= 0 and beta < float("inf")):
        raise ValueError(f"beta must be a finite number >= 0, got {beta}")
    y, x = torch.meshgrid(
        torch.arange(height, dtype=torch.float64),
        torch.arange(width, dtype=torch.float64),
        indexing="ij",
    )
    xy = torch.stack([x.reshape(-1), y.reshape(-1)], 1)
    planes = [torch.cat([xy, torch.full((plane, 1), float(z))], 1) for z in range(1, depth + 1)]
    last = planes[-1]
    centre = torch.tensor([(width - 1) / 2, (height - 1) / 2], dtype=torch.float64)
    d = (last[:, :2] - centre).pow(2).sum(1)
    # the d_out closest to the centre, ties row-major (a stable sort keeps row-major order)
    closest = torch.sort(d, stable=True).indices[:d_out]
    is_out = torch.zeros(plane, dtype=torch.bool)
    is_out[closest] = True
    coords = torch.cat([*planes[:-1], last[~is_out], last[torch.sort(closest).values]])
    return Geometry(
        coords, torch.tensor([1.0, 1.0, beta], dtype=torch.float64), (width, height, depth)
    )
