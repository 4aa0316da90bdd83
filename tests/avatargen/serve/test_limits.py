"""What a request may ask: any size text is a size within the limits or a one-line 422 bad_size."""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import given as for_examples  # `given` names pins in the model's API
from hypothesis import strategies as st

from avatargen.serve.errors import ServeError
from avatargen.serve.limits import MAX_SIDE, MIN_SIDE, served_size

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@for_examples(text=st.text(max_size=16) | st.from_regex(r"-?[0-9.e]{0,6}[xX*][0-9.e-]{0,6}", fullmatch=True))
def test_served_size_random_text(text: str) -> None:
    try:
        w, h = served_size(text)
    except ServeError as exc:
        assert exc.status == 422 and exc.body["error"] == "bad_size" and "\n" not in exc.body["message"]
        return
    assert MIN_SIDE <= w <= MAX_SIDE and MIN_SIDE <= h <= MAX_SIDE
