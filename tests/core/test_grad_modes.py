"""set_grad_enabled and inference_mode, as PyTorch's: switches, context managers and decorators that restore the
mode they found."""
import pytest

import core


@pytest.fixture(autouse=True)
def _grad_on():
    core.set_grad_enabled(True)
    yield
    core.set_grad_enabled(True)


def test_set_grad_enabled_switches_at_once_and_as_a_block():
    x = core.ones(2, requires_grad=True)
    core.set_grad_enabled(False)
    assert not core.is_grad_enabled() and not (x * 2).requires_grad
    core.set_grad_enabled(True)
    for training in (True, False):
        with core.set_grad_enabled(training):
            assert (x * 2).requires_grad is training
        assert core.is_grad_enabled()
    with core.no_grad(), core.set_grad_enabled(True):
        assert (x * 2).requires_grad  # inside no_grad, as PyTorch
    assert core.is_grad_enabled()


def test_set_grad_enabled_as_a_decorator_switches_only_inside_calls():
    @core.set_grad_enabled(False)
    def forward(x):
        return x * 2

    assert core.is_grad_enabled()  # decorating did not switch the mode
    x = core.ones(2, requires_grad=True)
    assert not forward(x).requires_grad and core.is_grad_enabled()


def test_inference_mode_records_nothing_and_restores_the_mode_even_on_errors():
    x = core.ones(2, requires_grad=True)
    with core.inference_mode():
        y = x * 2
        assert not core.is_grad_enabled()
    assert not y.requires_grad and core.is_grad_enabled()
    with core.inference_mode(False):
        assert (x * 2).requires_grad
    with pytest.raises(ValueError), core.inference_mode():
        raise ValueError("inside")
    assert core.is_grad_enabled()


def test_inference_mode_as_a_decorator_with_and_without_parentheses():
    x = core.ones(2, requires_grad=True)

    @core.inference_mode()
    def a():
        return x * 2

    @core.inference_mode
    def b():
        return x * 3

    assert not a().requires_grad and not b().requires_grad and core.is_grad_enabled()
    assert a.__name__ == "a" and b.__name__ == "b"
