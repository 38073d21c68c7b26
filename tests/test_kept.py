"""participation.kept: bounded per-process keeping."""

from participation.kept import Kept


def test_made_once_forgotten_on_request_and_all_dropped_when_full() -> None:
    kept: Kept[str, int] = Kept(2)
    made: list[str] = []

    def make(key: str) -> int:
        made.append(key)
        return len(made)

    assert kept.get_or_make("a", lambda: make("a")) == 1
    assert kept.get_or_make("a", lambda: make("a")) == 1 and made == ["a"]
    kept.forget("a")
    assert kept.get("a") is None
    kept.put("a", 1)
    kept.put("b", 2)
    kept.put("c", 3)  # full: the others go
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (None, None, 3)
