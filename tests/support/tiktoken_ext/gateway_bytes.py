"""A tiktoken encoding for the tests, found through tiktoken's `tiktoken_ext` plugin namespace (the
servers started by the tests have tests/support on PYTHONPATH). The real encodings are downloaded on
first use, which CI cannot do; this one is defined here: one token per UTF-8 byte, no merges."""

ENCODING_CONSTRUCTORS = {
    "gateway_bytes": lambda: {
        "name": "gateway_bytes",
        "pat_str": r"[\s\S]",
        "mergeable_ranks": {bytes([i]): i for i in range(256)},
        "special_tokens": {},
    }
}
