"""core.io.release_file_pages: clean pages of a memory-mapped tensor leave the resident set, values never change,
and pages written in place (private copies) or ordinary memory are never dropped."""
import sys

import numpy as np
import pytest

import core
from core.io import load_file, release_file_pages, save_file

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/pagemap")

ROWS, COLS = 512, 1024  # 2 MiB of float32: many whole pages


@pytest.fixture
def mapped(tmp_path):
    core.manual_seed(0)
    original = core.randn(ROWS, COLS)
    save_file({"w": original}, tmp_path / "w.safetensors")
    return original.numpy(), load_file(tmp_path / "w.safetensors")["w"]


def test_release_drops_the_pages_a_read_made_resident_and_keeps_the_values(mapped):
    original, w = mapped
    assert float(w.sum().item()) == pytest.approx(float(original.sum()), rel=1e-4)  # faults every page in
    released = release_file_pages(w)
    assert released >= w.numel() * 4 - 2 * 4096  # all but the two pages it shares with the header or file end
    assert release_file_pages(w) == 0  # nothing resident any more
    np.testing.assert_array_equal(w.numpy(), original)  # re-read from the page cache
    assert release_file_pages(w) > 0


def test_release_keeps_pages_written_in_place(mapped):
    original, w = mapped
    with core.no_grad():
        w[: ROWS // 2].mul_(2.0)  # private copies of the first half's pages
    w.sum()
    released = release_file_pages(w)
    assert 0 < released <= w.numel() * 2 + 4096
    expected = original.copy()
    expected[: ROWS // 2] *= 2.0
    np.testing.assert_array_equal(w.numpy(), expected)


def test_release_leaves_ordinary_memory_and_views_alone():
    w = core.randn(ROWS, COLS)
    before = w.numpy().copy()
    assert release_file_pages(w) == 0
    assert release_file_pages(w.t()) == 0  # not contiguous
    assert release_file_pages(core.zeros(0, 3)) == 0
    np.testing.assert_array_equal(w.numpy(), before)
