"""The line splitter: any chunking gives the same lines; a line past the limit is skipped."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from integrations.socket.lines import TOO_LONG, LineSplitter


def split_all(chunks: list[bytes], limit: int = 16) -> list[bytes | None]:
    splitter = LineSplitter(limit)
    out: list[bytes | None] = []
    for chunk in chunks:
        out.extend(splitter.feed(chunk))
    last = splitter.finish()
    if last is not None:
        out.append(last)
    return out


def test_lines_split_across_chunks_come_out_whole() -> None:
    assert split_all([b"ab", b"c\nde", b"f\n\ng", b"h\n"]) == [b"abc", b"def", b"", b"gh"]


def test_a_last_line_without_newline_is_given_at_the_end() -> None:
    assert split_all([b"one\ntw", b"o"]) == [b"one", b"two"]


def test_a_too_long_line_is_reported_once_in_its_place_and_the_next_line_survives() -> None:
    long_line = b"x" * 40
    chunks = [b"ok\n", long_line[:10], long_line[10:30], long_line[30:] + b"\nnext\n"]
    assert split_all(chunks) == [b"ok", TOO_LONG, b"next"]


def test_a_too_long_line_in_one_chunk_and_one_at_the_end_of_the_stream() -> None:
    stream = b"a\n" + b"y" * 17 + b"\nb\n" + b"z" * 30
    assert split_all([stream]) == [b"a", TOO_LONG, b"b", TOO_LONG]


def test_a_line_exactly_at_the_limit_is_kept() -> None:
    assert split_all([b"x" * 16 + b"\n"]) == [b"x" * 16]
    assert split_all([b"x" * 8, b"x" * 8, b"\n"]) == [b"x" * 16]


@given(
    lines=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")), max_size=20),
    cuts=st.lists(st.integers(0, 2000), max_size=30),
)
def test_any_chunking_gives_the_lines_of_the_whole_stream(
    lines: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    expected = [line if len(line) <= 16 else TOO_LONG for line in lines]
    assert split_all(chunks) == expected
