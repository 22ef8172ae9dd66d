from builds.pipeline.sha import is_sha


def test_a_commit_id_is_exactly_forty_lowercase_hex_digits():
    assert is_sha("0123456789abcdef0123456789abcdef01234567")
    assert not is_sha("0123456789ABCDEF0123456789abcdef01234567")
    assert not is_sha("0123456789abcdef0123456789abcdef0123456")
    assert not is_sha("0123456789abcdef0123456789abcdef01234567\n")
    assert not is_sha("main")
