"""DLPack both ways: numpy.from_dlpack(tensor) and core.from_dlpack(array) share memory and keep it alive."""
import gc

import numpy as np
import pytest

import core

DTYPES = [(core.float32, np.float32), (core.float64, np.float64), (core.float16, np.float16),
          (core.int32, np.int32), (core.int64, np.int64), (core.bool, np.bool_)]


def test_numpy_from_dlpack_shares_memory_both_ways():
    t = core.zeros(3, 4)
    a = np.from_dlpack(t)
    a[1, 2] = 5.0
    assert t[1, 2].item() == 5.0
    t[0, 0] = 3.0
    assert a[0, 0] == 3.0
    assert a.ctypes.data == t.data_ptr()


@pytest.mark.parametrize("ours, theirs", DTYPES, ids=[str(d) for d, _ in DTYPES])
def test_numpy_from_dlpack_keeps_dtype_and_values(ours, theirs):
    t = core.tensor([[0, 1, 2], [3, 0, 5]]).to(ours)
    a = np.from_dlpack(t)
    assert a.dtype == theirs
    np.testing.assert_array_equal(a, np.array([[0, 1, 2], [3, 0, 5]]).astype(theirs))


@pytest.mark.parametrize("ours, theirs", DTYPES, ids=[str(d) for d, _ in DTYPES])
def test_core_from_dlpack_keeps_dtype_and_shares(ours, theirs):
    a = np.array([[1, 0, 1], [0, 1, 1]]).astype(theirs)
    t = core.from_dlpack(a)
    assert t.dtype == ours
    assert t.data_ptr() == a.ctypes.data
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.parametrize("make", [lambda t: t.t(), lambda t: t[:, ::2], lambda t: t[1:, 1:3], lambda t: t[0]],
                         ids=["transposed", "stepped", "offset", "row"])
def test_numpy_from_dlpack_of_a_view_uses_its_strides_and_offset(make):
    base = core.arange(24.0).reshape(4, 6)
    view = make(base)
    a = np.from_dlpack(view)
    np.testing.assert_array_equal(a, view.numpy())
    assert a.strides == tuple(s * 4 for s in view.stride())
    a[(0,) * a.ndim] = -1.0
    assert view[(0,) * a.ndim].item() == -1.0


def test_numpy_from_dlpack_of_an_expanded_tensor_has_zero_strides():
    t = core.tensor([1.0, 2.0, 3.0]).expand(2, 3)
    a = np.from_dlpack(t)
    assert a.strides == (0, 4)
    np.testing.assert_array_equal(a, [[1, 2, 3], [1, 2, 3]])


@pytest.mark.parametrize("make", [lambda a: a.T, lambda a: a[:, ::2], lambda a: a[1:, 1:]],
                         ids=["transposed", "stepped", "offset"])
def test_core_from_dlpack_of_a_numpy_view_shares_with_its_strides(make):
    base = np.arange(20, dtype=np.float64).reshape(4, 5)
    view = make(base)
    t = core.from_dlpack(view)
    assert t.stride() == tuple(s // 8 for s in view.strides)
    np.testing.assert_array_equal(t.numpy(), view)
    view[0, 0] = 100.0
    assert t[0, 0].item() == 100.0


def test_core_from_dlpack_copies_negative_strides():
    a = np.arange(5, dtype=np.float32)[::-1]
    t = core.from_dlpack(a)
    np.testing.assert_array_equal(t.numpy(), a)
    assert t.is_contiguous()
    a[0] = 42.0
    assert t[0].item() == 4.0


def test_core_from_dlpack_copies_a_read_only_array():
    a = np.arange(4, dtype=np.float32)
    a.flags.writeable = False
    t = core.from_dlpack(a)
    np.testing.assert_array_equal(t.numpy(), a)
    t[0] = 9.0
    assert a[0] == 0.0


def test_core_from_dlpack_keeps_the_numpy_memory_alive():
    t = core.from_dlpack(np.arange(1000, dtype=np.float64) * 2)
    gc.collect()
    np.testing.assert_array_equal(t.numpy(), np.arange(1000) * 2.0)


def test_numpy_array_keeps_the_tensor_storage_alive():
    t = core.arange(1000.0)
    a = np.from_dlpack(t[10:])
    del t
    gc.collect()
    np.testing.assert_array_equal(a, np.arange(10.0, 1000.0))


def test_round_trip_through_dlpack_keeps_the_same_storage():
    t = core.randn(3, 4).t()
    u = core.from_dlpack(t)
    assert u.data_ptr() == t.data_ptr() and u.stride() == t.stride()
    u[0, 0] = 7.0
    assert t[0, 0].item() == 7.0


def test_bfloat16_round_trips_through_dlpack():
    t = core.tensor([1.5, -2.0, 3.25]).to(core.bfloat16)
    u = core.from_dlpack(t)
    assert u.dtype == core.bfloat16
    assert u.float().tolist() == [1.5, -2.0, 3.25]


def test_legacy_capsule_is_consumed_once():
    t = core.ones(3)
    cap = t.__dlpack__()
    u = core.from_dlpack(cap)
    assert u.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="unconsumed DLPack capsule"):
        core.from_dlpack(cap)


def test_unconsumed_capsules_free_their_tensor():
    for versioned in (None, (1, 0)):
        cap = core.ones(100).__dlpack__(max_version=versioned)
        del cap
        gc.collect()


def test_dlpack_copy_true_exports_a_copy():
    t = core.zeros(3)
    a = np.from_dlpack(t, copy=True)
    a[0] = 1.0
    assert t[0].item() == 0.0


def test_dlpack_device_is_cpu():
    assert core.zeros(2).__dlpack_device__() == (1, 0)


def test_dlpack_refuses_tensors_that_require_grad():
    t = core.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        np.from_dlpack(t)
    assert np.from_dlpack(t.detach()).shape == (2,)


def test_dlpack_refuses_a_stream_and_other_devices():
    with pytest.raises(ValueError, match="stream"):
        core.zeros(2).__dlpack__(stream=1)
    with pytest.raises(BufferError, match="CPU"):
        core.zeros(2).__dlpack__(dl_device=(2, 0))


@pytest.mark.parametrize("arr", [np.zeros(3, dtype=np.uint8), np.zeros(3, dtype=np.complex64)],
                         ids=["uint8", "complex64"])
def test_core_from_dlpack_rejects_unsupported_dtypes(arr):
    with pytest.raises(TypeError, match="unsupported dtype"):
        core.from_dlpack(arr)


def test_core_from_dlpack_rejects_objects_without_dlpack():
    with pytest.raises(TypeError, match="__dlpack__"):
        core.from_dlpack([1.0, 2.0])
