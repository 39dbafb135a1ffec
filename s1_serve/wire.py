"""The wire form lives in the engine (`s1_engine.wire`), shared with the console."""

from s1_engine.wire import (  # noqa: F401
    event_from_wire,
    event_to_wire,
    item_from_wire,
    item_to_wire,
    policy_to_wire,
    result_from_wire,
    result_to_wire,
)
