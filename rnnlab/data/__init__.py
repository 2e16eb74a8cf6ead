"""Text data for language models: corpora, vocabularies and the batch layout for BPTT."""
from rnnlab.data.batching import batchify
from rnnlab.data.stdlib_corpus import corpus_info, split_of, stdlib_corpus, stdlib_files, stdlib_root
from rnnlab.data.text import corpus_files, read_corpus, tokenize
from rnnlab.data.vocab import Vocabulary

__all__ = [
    "Vocabulary", "tokenize", "read_corpus", "corpus_files", "stdlib_root", "stdlib_files", "split_of",
    "stdlib_corpus", "corpus_info", "batchify",
]
