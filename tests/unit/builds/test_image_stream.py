from __future__ import annotations

from builds.pipeline.image import _explain, _StreamState


def feed(chunks):
    lines = []
    state = _StreamState()
    for chunk in chunks:
        state.consume(chunk, lines.append)
    return state, lines


def test_every_stream_line_is_logged_as_it_comes():
    state, lines = feed(
        [{"stream": "Step 1/2 : FROM python:3.11-slim\n"}, {"stream": " ---> abc\n\n"}]
    )

    assert lines == ["Step 1/2 : FROM python:3.11-slim", " ---> abc"]
    assert state.error == ""


def test_a_cached_dependency_step_is_recognised():
    state, _ = feed(
        [
            {"stream": "Step 5/9 : RUN pip install --no-cache-dir -r requirements.txt\n"},
            {"stream": " ---> Using cache\n"},
            {"stream": "Step 6/9 : COPY . .\n"},
        ]
    )

    assert state.dependency_layer_cached is True


def test_a_rebuilt_dependency_step_is_not_cached():
    state, _ = feed(
        [
            {"stream": "Step 5/9 : RUN pip install -r requirements.txt\n"},
            {"stream": " ---> Running in 123\n"},
        ]
    )

    assert state.dependency_layer_cached is False


def test_a_failing_run_step_is_explained_with_its_exit_code():
    state, _ = feed(
        [
            {
                "error": "The command '/bin/sh -c pip install nosuchpkg' returned a non-zero code: 1",
                "errorDetail": {"code": 1},
            },
        ]
    )

    assert state.error == "The build step `pip install nosuchpkg` failed with exit code 1."


def test_an_unreachable_registry_is_explained():
    message = _explain('Get "https://ghcr.io/v2/": dial tcp: lookup ghcr.io: no such host', {})

    assert message.startswith("A base image could not be pulled")
