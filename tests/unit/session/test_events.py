"""session.Event: callbacks in connection order, with the emitted arguments; disconnect stops them."""

from avs_studio.session import Event


def test_event_calls_in_order_and_disconnects():
    seen: list[tuple[str, int, str]] = []
    event: Event[[int, str]] = Event()

    def first(n: int, s: str) -> None:
        seen.append(("first", n, s))

    event.connect(first)
    event.connect(lambda n, s: seen.append(("second", n, s)))
    event.emit(3, "x")
    assert seen == [("first", 3, "x"), ("second", 3, "x")] and len(event) == 2
    event.disconnect(first)
    event.emit(4, "y")
    assert seen[2:] == [("second", 4, "y")]


def test_a_callback_may_disconnect_itself_while_emitting():
    event: Event[[]] = Event()
    calls: list[str] = []

    def once() -> None:
        calls.append("once")
        event.disconnect(once)

    event.connect(once)
    event.connect(lambda: calls.append("always"))
    event.emit()
    event.emit()
    assert calls == ["once", "always", "always"]
