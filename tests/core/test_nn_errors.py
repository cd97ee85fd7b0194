"""The nn ops refuse bad input with the exception a PyTorch user expects, naming the op and the shapes, before
any memory is touched: ValueError for shapes and arguments, TypeError for dtypes, IndexError for class indices
and embedding ids out of range."""
import pytest

import core


def f64(*shape):
    return core.randn(*shape, dtype=core.float64)


def test_softmax_rejects_integer_input_and_bad_dim():
    with pytest.raises(TypeError, match="softmax.*int64"):
        core.softmax(core.tensor([1, 2, 3]), 0)
    with pytest.raises(IndexError, match="log_softmax.*dimension 2"):
        core.log_softmax(core.randn(2, 3), 2)


def test_layer_norm_names_input_shape_and_normalized_shape():
    with pytest.raises(ValueError, match=r"layer_norm.*\(2, 3, 4\).*\(3,\)"):
        core.layer_norm(core.randn(2, 3, 4), (3,))
    with pytest.raises(ValueError, match=r"layer_norm: weight of shape \(5,\)"):
        core.layer_norm(core.randn(2, 4), (4,), core.ones(5))
    with pytest.raises(TypeError, match="layer_norm"):
        core.layer_norm(core.ones(2, 4, dtype=core.int64), (4,))


def test_cross_entropy_class_index_out_of_range_is_index_error():
    with pytest.raises(IndexError, match="cross_entropy: target 5 is out of bounds for 5 classes"):
        core.cross_entropy(core.randn(3, 5), core.tensor([0, 5, 1]))
    with pytest.raises(IndexError, match="target -1"):
        core.cross_entropy(core.randn(3, 5), core.tensor([0, -1, 1]))


def test_cross_entropy_shapes_dtypes_and_arguments():
    with pytest.raises(ValueError, match=r"cross_entropy: input of shape \(3, 5\) expects a target of shape \(3,\)"):
        core.cross_entropy(core.randn(3, 5), core.tensor([0, 1]))
    with pytest.raises(TypeError, match="class indices"):
        core.cross_entropy(core.randn(3, 5), core.randn(3))
    with pytest.raises(ValueError, match="weight of shape"):
        core.cross_entropy(core.randn(3, 5), core.tensor([0, 1, 2]), weight=core.ones(4))
    with pytest.raises(ValueError, match="reduction"):
        core.cross_entropy(core.randn(3, 5), core.tensor([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        core.cross_entropy(core.randn(3, 5), core.tensor([0, 1, 2]), label_smoothing=1.5)


def test_mse_loss_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"mse_loss.*\(3, 4\).*\(3,\)"):
        core.mse_loss(core.randn(3, 4), core.randn(3))


def test_embedding_ids_out_of_range_are_index_errors():
    w = core.randn(10, 4)
    with pytest.raises(IndexError, match=r"embedding: index 10 is out of range for 10 embeddings"):
        core.embedding(core.tensor([1, 10]), w)
    with pytest.raises(IndexError, match="index -1"):
        core.embedding(core.tensor([-1]), w)
    with pytest.raises(TypeError, match="embedding.*float32"):
        core.embedding(core.tensor([1.0]), w)
    with pytest.raises(ValueError, match="padding_idx 10"):
        core.embedding(core.tensor([1]), w, padding_idx=10)
    with pytest.raises(ValueError, match="2-d"):
        core.embedding(core.tensor([1]), core.randn(10))


def test_conv2d_names_both_shapes_when_channels_disagree():
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(1, 3, 8, 8\) has 3 channels but weight of shape "
                                         r"\(4, 2, 3, 3\)"):
        core.conv2d(core.randn(1, 3, 8, 8), core.randn(4, 2, 3, 3))
    with pytest.raises(ValueError, match="conv2d.*smaller than the dilated kernel"):
        core.conv2d(core.randn(1, 3, 2, 2), core.randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match="same.*strided"):
        core.conv2d(core.randn(1, 3, 8, 8), core.randn(4, 3, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="divisible by groups"):
        core.conv2d(core.randn(1, 3, 8, 8), core.randn(4, 1, 3, 3), groups=3)
    with pytest.raises(ValueError, match="conv2d: expected a 3-d"):
        core.conv2d(core.randn(8, 8), core.randn(4, 3, 3, 3))
    with pytest.raises(ValueError, match="padding must be"):
        core.conv2d(core.randn(1, 3, 8, 8), core.randn(4, 3, 3, 3), padding="full")
    with pytest.raises(TypeError, match="conv2d"):
        core.conv2d(core.ones(1, 3, 8, 8, dtype=core.int64), core.randn(4, 3, 3, 3))
    with pytest.raises(TypeError, match="share a dtype"):
        core.conv2d(f64(1, 3, 8, 8), core.randn(4, 3, 3, 3))


def test_conv1d_errors_speak_of_conv1d_shapes():
    with pytest.raises(ValueError, match=r"conv1d: input of shape \(2, 3, 10\) has 3 channels"):
        core.conv1d(core.randn(2, 3, 10), core.randn(4, 2, 3))
    with pytest.raises(ValueError, match="conv1d: expected a 3-d weight"):
        core.conv1d(core.randn(2, 3, 10), core.randn(4, 3, 3, 3))


def test_pooling_arguments_are_checked():
    with pytest.raises(ValueError, match="max_pool2d: padding"):
        core.max_pool2d(core.randn(1, 1, 8, 8), 2, padding=2)
    with pytest.raises(ValueError, match="max_pool2d: expected a 3-d"):
        core.max_pool2d(core.randn(8, 8), 2)
    with pytest.raises(ValueError, match="avg_pool2d.*too small"):
        core.avg_pool2d(core.randn(1, 1, 2, 2), 3)
    with pytest.raises(ValueError, match="stride must be positive"):
        core.max_pool2d(core.randn(1, 1, 4, 4), 2, stride=0)
    with pytest.raises(ValueError, match="divisor_override"):
        core.avg_pool2d(core.randn(1, 1, 4, 4), 2, divisor_override=0)


def test_attention_shapes_masks_and_dtypes():
    q, k, v = core.randn(2, 4, 8), core.randn(2, 6, 8), core.randn(2, 6, 5)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: query of shape \(2, 4, 8\) and key of "
                                         r"shape \(2, 6, 7\)"):
        core.scaled_dot_product_attention(q, core.randn(2, 6, 7), v)
    with pytest.raises(ValueError, match="sequence length"):
        core.scaled_dot_product_attention(q, k, core.randn(2, 5, 5))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 5\) does not broadcast"):
        core.scaled_dot_product_attention(q, k, v, attn_mask=core.ones(4, 5, dtype=core.bool))
    with pytest.raises(TypeError, match="attn_mask"):
        core.scaled_dot_product_attention(q, k, v, attn_mask=core.ones(4, 6, dtype=core.int64))
    with pytest.raises(ValueError, match="not both"):
        core.scaled_dot_product_attention(q, k, v, attn_mask=core.zeros(4, 6), is_causal=True)
    with pytest.raises(TypeError, match="share a dtype"):
        core.scaled_dot_product_attention(q, k.double(), v)
    with pytest.raises(ValueError, match=r"broadcast"):
        core.scaled_dot_product_attention(core.randn(3, 4, 8), k, v)


def test_pad_arguments_are_checked():
    with pytest.raises(ValueError, match="pad: the padding list must have an even length"):
        core.pad(core.randn(2, 3), (1,))
    with pytest.raises(ValueError, match="at most 2"):
        core.pad(core.randn(3), (1, 1, 1, 1))
    with pytest.raises(ValueError, match="reflect padding"):
        core.pad(core.randn(2, 3), (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="mode"):
        core.pad(core.randn(2, 3), (1, 1), mode="mirror")
    with pytest.raises(ValueError, match="negative"):
        core.pad(core.randn(2, 3), (-2, -2))


def test_one_hot_and_dropout_arguments():
    with pytest.raises(IndexError, match="one_hot: class value 3 is out of range for 3 classes"):
        core.one_hot(core.tensor([0, 3]), 3)
    with pytest.raises(IndexError, match="class value -1"):
        core.one_hot(core.tensor([0, -1]))
    with pytest.raises(TypeError, match="one_hot"):
        core.one_hot(core.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="infer"):
        core.one_hot(core.zeros(0, dtype=core.int64))
    with pytest.raises(ValueError, match=r"dropout: probability p must be in \[0, 1\]"):
        core.dropout(core.randn(3), 1.5)
    with pytest.raises(TypeError, match="dropout"):
        core.dropout(core.ones(3, dtype=core.int64), 0.5)


def test_differentiating_a_fused_backward_raises_instead_of_giving_zero():
    # softmax's backward is differentiable since create_graph support; layer_norm's is a fused loop
    x = f64(3, 4).requires_grad_()
    y = core.layer_norm(x, [4])
    (y * f64(3, 4)).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    with pytest.raises(NotImplementedError, match="second derivative of 'layer_norm'"):
        x.grad.sum().backward()


def test_cross_entropy_weight_gradient_is_refused():
    w = core.ones(5, requires_grad=True)
    loss = core.cross_entropy(core.randn(3, 5, requires_grad=True), core.tensor([0, 1, 2]), weight=w)
    with pytest.raises(NotImplementedError, match="weight"):
        loss.backward()
