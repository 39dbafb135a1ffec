"""The machine's tokenizer calls: memoised encodes that a caller cannot corrupt."""

from s1_engine.detok import codec


class Counting:
    def __init__(self) -> None:
        self.calls = 0

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        assert add_special_tokens is False
        self.calls += 1
        return [ord(c) for c in text]

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        assert skip_special_tokens is False
        return "".join(map(chr, ids))


def test_an_encode_is_made_once_per_string_and_its_result_is_a_fresh_list() -> None:
    tok = Counting()
    encode, decode = codec(tok)
    first = encode("Wait")
    first.append(0)  # the machine extends what it gets: the cache must not see it
    assert encode("Wait") == [87, 97, 105, 116]
    assert encode("Hmm") == [72, 109, 109]
    assert tok.calls == 2
    assert decode((87, 97)) == "Wa"
