"""A build lock left by a stopped compile must not hang later processes."""

import os
import threading
import time

from graphnets.kernels.buildlock import wait_or_clear


def _lock(folder, age_s):
    path = os.path.join(folder, "lock")
    open(path, "w").close()
    now = time.time()
    os.utime(path, (now - age_s, now - age_s))
    return path


def test_no_lock_returns_at_once(tmp_path):
    assert wait_or_clear(str(tmp_path), "k") is False
    assert wait_or_clear(None, "k") is False


def test_a_stale_lock_is_removed_with_a_message(tmp_path, capsys):
    path = _lock(str(tmp_path), age_s=3600)
    assert wait_or_clear(str(tmp_path), "test kernel", stale_after_s=300) is True
    assert not os.path.exists(path)
    err = capsys.readouterr().err
    assert "removed the lock of a test kernel build stopped 60 min ago" in err


def test_a_young_lock_is_waited_for_until_the_other_build_ends(tmp_path, capsys):
    path = _lock(str(tmp_path), age_s=0)
    threading.Timer(0.3, os.remove, (path,)).start()  # the other process finishes
    start = time.perf_counter()
    assert wait_or_clear(str(tmp_path), "test kernel", poll_s=0.05) is False
    assert time.perf_counter() - start >= 0.25
    assert "waiting for another process's build of the test kernel" in capsys.readouterr().err


def test_a_young_lock_that_turns_stale_is_removed(tmp_path):
    # a build killed a moment ago: waited for only until the lock is old enough
    path = _lock(str(tmp_path), age_s=0)
    start = time.perf_counter()
    assert wait_or_clear(str(tmp_path), "k", stale_after_s=0.3, poll_s=0.05) is True
    assert 0.25 <= time.perf_counter() - start < 5 and not os.path.exists(path)
