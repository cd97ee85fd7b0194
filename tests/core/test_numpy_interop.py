"""from_numpy / .numpy() share memory; __array__ converts; core.tensor copies."""
import gc

import numpy as np
import pytest

import core


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.float16, np.int32, np.int64, np.bool_])
def test_from_numpy_shares_memory_both_ways(dt):
    a = np.zeros((2, 3), dtype=dt)
    t = core.from_numpy(a)
    assert t.data_ptr() == a.ctypes.data
    a[1, 2] = 1
    assert t[1, 2].item() == 1
    t[0, 1] = 1
    assert a[0, 1] == 1


def test_from_numpy_of_a_strided_view_shares_with_the_same_strides():
    base = np.arange(12.0).reshape(3, 4)
    t = core.from_numpy(base.T[::2])
    assert t.stride() == (2, 4)
    base[0, 2] = -5.0
    assert t[1, 0].item() == -5.0


def test_from_numpy_copies_negative_strides():
    a = np.arange(4.0)[::-1]
    t = core.from_numpy(a)
    assert t.tolist() == [3.0, 2.0, 1.0, 0.0]
    a[0] = 10.0
    assert t[0].item() == 3.0


def test_from_numpy_keeps_the_array_alive():
    t = core.from_numpy(np.arange(100.0) + 1)
    gc.collect()
    assert t.sum().item() == 5050.0


def test_from_numpy_rejects_other_types_and_dtypes():
    with pytest.raises(TypeError, match="numpy.ndarray"):
        core.from_numpy([1, 2])
    with pytest.raises(TypeError, match="not supported"):
        core.from_numpy(np.zeros(2, dtype=np.uint8))


def test_numpy_of_a_contiguous_tensor_shares_memory():
    t = core.zeros(4)
    a = t.numpy()
    a[2] = 3.0
    assert t[2].item() == 3.0
    t[0] = 1.0
    assert a[0] == 1.0


def test_numpy_of_a_view_shares_memory_with_its_strides():
    t = core.arange(12.0).reshape(3, 4)
    a = t[:, 1::2].numpy()
    assert a.strides == (16, 8)
    a[2, 1] = 0.5
    assert t[2, 3].item() == 0.5


def test_numpy_keeps_the_storage_alive():
    a = (core.arange(50.0) * 2).numpy()
    gc.collect()
    np.testing.assert_array_equal(a, np.arange(50.0) * 2)


def test_numpy_refuses_a_tensor_that_requires_grad():
    t = core.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        t.numpy()
    assert t.detach().numpy().tolist() == [1.0, 1.0]


def test_numpy_of_bfloat16_is_a_type_error():
    with pytest.raises(TypeError, match="bfloat16"):
        core.ones(2).to(core.bfloat16).numpy()


def test_asarray_shares_and_converts():
    t = core.arange(6.0).reshape(2, 3)
    a = np.asarray(t)
    assert a.shape == (2, 3) and a.dtype == np.float32
    a[0, 0] = 9.0
    assert t[0, 0].item() == 9.0
    np.testing.assert_array_equal(np.asarray(t, dtype=np.float64), a.astype(np.float64))
    assert np.asarray(t.to(core.bfloat16)).dtype == np.float32


def test_np_array_copies():
    t = core.zeros(3)
    a = np.array(t)
    a[0] = 1.0
    assert t[0].item() == 0.0


def test_tensor_copies_numpy_data():
    a = np.zeros(3, dtype=np.float32)
    t = core.tensor(a)
    a[0] = 1.0
    assert t[0].item() == 0.0
