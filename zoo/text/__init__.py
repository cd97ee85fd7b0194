"""Text models: sentence embeddings (tokenisation, batching, pooling) around a pluggable encoder forward.

Importing this package registers the text entries of the catalog (`text/minilm-l6`) and the
`bert-sentence-embedding` architecture (zoo/text/bert.py).
"""
from zoo.text import bert, catalog
from zoo.text.config import TextEncoderConfig, sentence_transformers_settings
from zoo.text.encoder import Forward, SentenceEncoder
from zoo.text.tokenization import load_tokenizer

__all__ = ["Forward", "SentenceEncoder", "TextEncoderConfig", "bert", "catalog", "load_tokenizer",
           "sentence_transformers_settings"]
