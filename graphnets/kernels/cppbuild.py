"""Building and loading graphnets' C++ kernels, once per environment, torch, CPU and source.

Both C++ kernels (the fused feed-forward kernel, :mod:`graphnets.kernels.fused`, and the
recurrent one, :mod:`graphnets.kernels.recurrent`) are an :class:`Extension`: a source generated
from the activation registry, compiled by ``torch.utils.cpp_extension.load_inline`` under a name
that hashes the environment, torch version, CPU, flags and source. So a build made for another
torch or CPU is never loaded (``-march=native`` code must not run on a CPU without those
instructions), and a build already in torch's cache is imported directly, without importing
``torch.utils.cpp_extension`` (its setuptools import costs 0.2-0.4 s of a cold first run).
A build lock left by a stopped compile is handled by :mod:`graphnets.kernels.buildlock`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from ..core.activations import REGISTRY, Row
from .buildlock import wait_or_clear

__all__ = [
    "Extension",
    "SCALAR_CASES",
    "activation_source",
    "cpu_id",
    "cache_directory",
    "build_directory",
    "compiler_missing",
]

#: The ``case`` lines both kernels take from the registry: an activation and its derivative at
#: one value (``// @ACT_FORWARD@``, ``// @ACT_GRAD@``).
SCALAR_CASES: dict[str, Callable[[int, Row], str | None]] = {
    "ACT_FORWARD": lambda code, row: f"    case {code}: {{ {row.cpp_forward.strip()} }}",
    "ACT_GRAD": lambda code, row: f"    case {code}: {{ {row.cpp_grad.strip()} }}",
}


def activation_source(path: str, cases: Mapping[str, Callable[[int, Row], str | None]]) -> str:
    """The C++ file at ``path`` with each ``// @MARK@`` line replaced by one line per row of the
    activation registry, ``cases[MARK](code, row)`` (rows that give ``None`` left out): adding
    an activation to the registry adds it to every kernel."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    for mark, case in cases.items():
        lines = [line for code, row in enumerate(REGISTRY) if (line := case(code, row))]
        source = source.replace(f"// @{mark}@", "\n".join(lines))
    return source


def cpu_id() -> str:
    """What identifies this CPU's instruction set: model name and flags (Linux), else platform."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            lines = [ln for ln in f if ln.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return f"{platform.machine()}|{platform.processor()}"


def build_directory(name: str) -> str | None:
    """torch's build folder of ``name`` (``None`` if torch's private helper has moved)."""
    try:
        from torch.utils.cpp_extension import _get_build_directory

        return _get_build_directory(name, False)
    except Exception:  # a private helper of torch: if it moves, we cannot tell
        return None


def cache_directory(name: str) -> str:
    """Where torch's ``cpp_extension`` builds ``name``, computed as it does (its
    ``_get_build_directory``) without importing it. A build not found here is looked up the
    slow way (:func:`build_directory`)."""
    root = os.environ.get("TORCH_EXTENSIONS_DIR")
    if root is None:
        if sys.platform.startswith("linux"):  # torch._appdirs' rule, without its 14 ms import
            cache = os.getenv("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))
            base = os.path.realpath(os.path.join(cache, "torch_extensions"))
        else:
            from torch import _appdirs

            base = os.path.realpath(_appdirs.user_cache_dir(appname="torch_extensions"))
        if torch.version.hip is not None:
            accel = f"rocm{torch.version.hip.replace('.', '')}"
        elif torch.version.cuda is not None:
            accel = f"cu{torch.version.cuda.replace('.', '')}"
        else:
            accel = "cpu"
        py = f"py{sys.version_info.major}{sys.version_info.minor}{getattr(sys, 'abiflags', '')}"
        root = os.path.join(base, f"{py}_{accel}")
    return os.path.join(root, name)


def compiler_missing() -> str | None:
    """Why no C++ compiler can be run (``"no C++ compiler ('c++' is not on PATH)"``), or
    ``None`` if the one torch would use (``$CXX``, else ``c++``) is found."""
    cxx = os.environ.get("CXX", "c++")
    if shutil.which(cxx) is None:
        return f"no C++ compiler ({cxx!r} is not on PATH)"
    return None


def _import_built(name: str, path: str) -> Any:
    """The extension compiled at ``path``, imported without asking a compiler or ninja (its
    name says it was built for this environment, torch, CPU, source and flags)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _try_import(name: str, path: str) -> Any:
    """:func:`_import_built`, or ``None`` for a damaged file (a build killed mid-link), which
    is then built again."""
    try:
        return _import_built(name, path)
    except Exception:
        return None


class Extension:
    """One C++ kernel: its name, its build, and the module once loaded (thread-safe, once).

    Args:
        prefix: the start of the build's name (``"graphnets_fused"``).
        source: returns the C++ source (generated from the activation registry).
        cflags, ldflags: compiler and linker flags (part of the name).
        what: the kernel in messages (``"fused C++ kernel"``).
        fallback: what runs instead when it cannot be built, for the warning.
    """

    def __init__(
        self,
        prefix: str,
        source: Callable[[], str],
        *,
        cflags: Sequence[str],
        ldflags: Sequence[str] = (),
        what: str,
        fallback: str,
    ) -> None:
        self.prefix, self.source, self.what, self.fallback = prefix, source, what, fallback
        # tuples: load_inline appends to the lists it is given, which would change the name
        self.cflags, self.ldflags = tuple(cflags), tuple(ldflags)
        self._lock = threading.Lock()
        self.module: Any = None
        self.failed: str | None = None

    def name(self, torch_version: str | None = None, cpu: str | None = None) -> str:
        """The build's name for this environment, torch version (default: this one), CPU
        (default: this one), flags and source."""
        torch_version = torch.__version__ if torch_version is None else torch_version
        cpu = cpu_id() if cpu is None else cpu
        flags = " ".join((*self.cflags, *self.ldflags))
        key = f"{sys.prefix}|{torch_version}|{cpu}|{flags}|{self.source()}"
        return f"{self.prefix}_{hashlib.sha1(key.encode()).hexdigest()[:12]}"

    def built_path(self) -> str | None:
        """The compiled file of :meth:`name` in torch's cache, or ``None`` if not built yet."""
        name = self.name()
        for folder in (cache_directory(name), build_directory(name)):
            path = None if folder is None else os.path.join(folder, f"{name}.so")
            if path is not None and os.path.exists(path):
                return path
        return None

    def load(self) -> Any:
        """The module: imported if built, else compiled (once, with a message on stderr);
        ``None`` where it cannot be (see :attr:`failed`)."""
        with self._lock:
            if self.module is not None or self.failed is not None:
                return self.module
            if os.environ.get("GRAPHNETS_NO_CPP", "") not in ("", "0"):
                self.failed = "disabled by GRAPHNETS_NO_CPP"
                return None
            name = self.name()
            quick = os.path.join(cache_directory(name), f"{name}.so")
            if os.path.exists(quick):
                self.module = _try_import(name, quick)
                if self.module is not None:
                    return self.module
            folder = build_directory(name)  # the slow way: imports torch's cpp_extension
            path = None if folder is None else os.path.join(folder, f"{name}.so")
            if path is not None and path != quick and os.path.exists(path):
                self.module = _try_import(name, path)
                if self.module is not None:
                    return self.module
            missing = compiler_missing()
            if missing is not None:
                self.failed = missing
                print(
                    f"graphnets: {missing}: using the pure-torch kernels; install g++ (or set "
                    f"CXX) for the faster {self.what}",
                    file=sys.stderr,
                    flush=True,
                )
                return None
            wait_or_clear(folder, self.what)
            try:
                from torch.utils.cpp_extension import load_inline

                where = os.path.dirname(folder) if folder is not None else "torch's cache"
                print(
                    f"graphnets: compiling the {self.what}, once for this machine, torch and "
                    f"environment (about 20-60 s; cached in {where}) ...",
                    file=sys.stderr,
                    flush=True,
                )
                self.module = load_inline(
                    name=name,
                    cpp_sources=self.source(),
                    extra_cflags=list(self.cflags),
                    extra_ldflags=list(self.ldflags),
                    verbose=False,
                )
            except Exception as err:  # no headers, a broken compiler, ...: torch ops instead
                last = str(err).strip().splitlines()[-1] if str(err).strip() else ""
                self.failed = f"{type(err).__name__}: {last}"
                warnings.warn(
                    f"graphnets: the {self.what} could not be built ({self.failed}); "
                    f"{self.fallback}",
                    RuntimeWarning,
                    stacklevel=4,
                )
            return self.module
