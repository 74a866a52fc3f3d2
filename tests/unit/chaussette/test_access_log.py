"""Common Log Format lines."""

from __future__ import annotations

from chaussette_compat.http.access_log import TimestampCache, clf_time, common_log_line


def test_clf_time_is_utc_with_english_months():
    assert clf_time(971182536) == "[10/Oct/2000:12:55:36 +0000]"


def test_common_log_line():
    line = common_log_line("127.0.0.1", "GET", "/a?b", "HTTP/1.1", 200, 2326, "[T]")
    assert line == '127.0.0.1 - - [T] "GET /a?b HTTP/1.1" 200 2326\n'
    assert (
        common_log_line("", "HEAD", "/", "HTTP/1.0", 304, 0, "[T]") == '- - - [T] "HEAD / HTTP/1.0" 304 -\n'
    )


def test_hostile_request_lines_stay_on_one_line_with_balanced_quotes():
    line = common_log_line("1.2.3.4", "GET", '/"x"\n\x1b', "HTTP/1.1", 400, 0, "[T]")
    assert line.count("\n") == 1 and line.endswith("400 -\n")
    assert '"GET /\\"x\\"\\n\\x1b HTTP/1.1"' in line


def test_timestamp_cache():
    cache = TimestampCache()
    assert cache.text(0.5) == "[01/Jan/1970:00:00:00 +0000]"
    assert cache.text(0.9) is cache.text(0.1)
