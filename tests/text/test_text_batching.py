"""batches(): every sentence exactly once, longest first, padded to the batch's longest, masks match lengths."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from zoo.text.tokenization import batches


@given(st.lists(st.integers(2, 20), max_size=40), st.integers(1, 9))
def test_batches_cover_each_sentence_once_longest_first(lengths, batch_size):
    encodings = [SimpleNamespace(ids=[i + 1] * n, type_ids=[0] * n) for i, n in enumerate(lengths)]
    seen, previous_width = [], None
    for batch in batches(encodings, batch_size, pad_id=0):
        assert 1 <= len(batch.indices) <= batch_size
        width = batch.input_ids.shape[1]
        assert width == max(lengths[i] for i in batch.indices)
        assert previous_width is None or width <= previous_width
        previous_width = width
        np.testing.assert_array_equal(batch.attention_mask.sum(1), [lengths[i] for i in batch.indices])
        for row, i in enumerate(batch.indices):
            assert (batch.input_ids[row, :lengths[i]] == i + 1).all() and (batch.input_ids[row, lengths[i]:] == 0).all()
        seen.extend(batch.indices.tolist())
    assert sorted(seen) == list(range(len(lengths)))
